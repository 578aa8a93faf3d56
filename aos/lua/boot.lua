function handle(msg, env) return '{"ok":true,"response":{"Output":{"data":"hi"},"Messages":[],"Spawns":[],"Assignments":[]}}' end
