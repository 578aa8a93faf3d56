package dataitem
import ("os";"path/filepath")
func readTestdata(n string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", n)) }
