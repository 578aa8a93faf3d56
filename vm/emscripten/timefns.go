package emscripten

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The process's local time zone is UTC: the reference uses the host's zone (nondeterministic); run it
// with TZ=UTC to compare.

// timeArg reads a time_t argument in its three ABIs: (lo, hi, …) legalized on wasm32 emscripten3+,
// by value on wasm64, or (v1/v2) a pointer to a 32-bit time_t.
func timeArg(in *instance, v view, a []uint64) (t int64, tm uint64) {
	switch {
	case len(a) == 3:
		return int64(uint64(uint32(a[0])) | a[1]<<32), a[2]
	case in.f.mem64:
		return int64(a[0]), a[1]
	default:
		return int64(v.i32(a[0])), a[1]
	}
}

func putTm(v view, tm uint64, d time.Time) {
	v.putI32(tm, int32(d.Second()))
	v.putI32(tm+4, int32(d.Minute()))
	v.putI32(tm+8, int32(d.Hour()))
	v.putI32(tm+12, int32(d.Day()))
	v.putI32(tm+16, int32(d.Month())-1)
	v.putI32(tm+20, int32(d.Year()-1900))
	v.putI32(tm+24, int32(d.Weekday()))
	v.putI32(tm+28, int32(d.YearDay()-1))
}

// hostGmtime is _gmtime_js.
func hostGmtime(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	t, tm := timeArg(in, v, a)
	putTm(v, tm, time.Unix(t, 0).UTC())
	return 0
}

// hostLocaltime is _localtime_js: gmtime's fields, and, as every glue writes them, tm_isdst and tm_gmtoff (0: the
// zone is UTC). Left unwritten, they would keep whatever the guest's stack held there (localtime_r's struct tm
// is usually on it), and code reading them (musl picks tm_zone by tm_isdst) would take another path than in the
// reference: same text, other gas.
func hostLocaltime(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	_, tm := timeArg(in, v, a)
	hostGmtime(in, c, v, a)
	v.putI32(tm+32, 0) // tm_isdst
	if in.f.mem64 {
		v.put64(tm+40, 0) // tm_gmtoff: a long, 8-aligned
	} else {
		v.putI32(tm+36, 0)
	}
	return 0
}

// hostMktime is _mktime_js: normalise the broken-down time (as JS Date does) and return seconds; on
// wasm32 emscripten3+ the i64 result is legalized: low word returned, high word via tempRet0.
func hostMktime(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	tm := a[0]
	d := time.Date(int(v.i32(tm+20))+1900, time.Month(v.i32(tm+16)+1), int(v.i32(tm+12)),
		int(v.i32(tm+8)), int(v.i32(tm+4)), int(v.i32(tm)), 0, time.UTC)
	if v.i32(tm+32) < 0 {
		v.putI32(tm+32, 0)
	}
	putTm(v, tm, d)
	secs := d.Unix()
	if !in.f.mem64 && in.exp.tempretSet != nil {
		in.callExport(c, in.exp.tempretSet, int32(uint64(secs)>>32))
		return uint64(uint32(secs))
	}
	return uint64(secs)
}

func hostTzset(in *instance, c *wasmtime.Caller, v view, a []uint64) uint64 {
	if len(a) == 4 {
		if in.f.mem64 {
			v.put64(a[0], 0)
		} else {
			v.put32(a[0], 0)
		}
		v.putI32(a[1], 0)
		v.write(a[2], []byte("UTC\x00"))
		v.write(a[3], []byte("UTC\x00"))
		return 0
	}
	// v1/v2: once per instance; the names are malloc'ed as the glue's allocateUTF8 does.
	if in.host.TzsetCalled {
		return 0
	}
	in.host.TzsetCalled = true
	v.putI32(a[0], 0)
	v.putI32(a[1], 0)
	name := []byte("Coordinated Universal Time\x00")
	p1 := in.mallocBytes(c, name)
	p2 := in.mallocBytes(c, name)
	v = in.viewOf(c) // malloc may have grown memory
	v.put32(a[2], uint32(p2))
	v.put32(a[2]+4, uint32(p1))
	return 0
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// hostStrftime is the glue's JS strftime (the C library's is not linked in): the same two rounds of
// textual expansion, so odd patterns come out as the reference's do.
func hostStrftime(in *instance, _ *wasmtime.Caller, v view, a []uint64) uint64 {
	s, maxsize, format, tm := a[0], a[1], a[2], a[3]
	d := tmFields{
		sec: v.i32(tm), min: v.i32(tm + 4), hour: v.i32(tm + 8), mday: v.i32(tm + 12), mon: v.i32(tm + 16),
		year: v.i32(tm + 20), wday: v.i32(tm + 24), yday: v.i32(tm + 28),
	}
	var zonePtr uint64
	if in.f.mem64 {
		d.gmtoff = int64(v.u64(tm + 40))
		zonePtr = v.u64(tm + 48)
	} else {
		d.gmtoff = int64(v.i32(tm + 36))
		zonePtr = uint64(v.u32(tm + 40))
	}
	if zonePtr != 0 {
		d.zone = v.cstring(zonePtr, 64)
	}
	out := expandStrftime(v.cstring(format, 4096), d)
	b := append([]byte(out), 0)
	if uint64(len(b)) > maxsize {
		return 0
	}
	v.write(s, b)
	return uint64(len(b) - 1)
}

type tmFields struct {
	sec, min, hour, mday, mon, year, wday, yday int32
	gmtoff                                      int64
	zone                                        string
}

// The glue's first expansion round, in its (object key) order.
var strftimeRules1 = [][2]string{
	{"%c", "%a %b %d %H:%M:%S %Y"}, {"%D", "%m/%d/%y"}, {"%F", "%Y-%m-%d"}, {"%h", "%b"}, {"%r", "%I:%M:%S %p"},
	{"%R", "%H:%M"}, {"%T", "%H:%M:%S"}, {"%x", "%m/%d/%y"}, {"%X", "%H:%M:%S"}, {"%Ec", "%c"}, {"%EC", "%C"},
	{"%Ex", "%m/%d/%y"}, {"%EX", "%H:%M:%S"}, {"%Ey", "%y"}, {"%EY", "%Y"}, {"%Od", "%d"}, {"%Oe", "%e"},
	{"%OH", "%H"}, {"%OI", "%I"}, {"%Om", "%m"}, {"%OM", "%M"}, {"%OS", "%S"}, {"%Ou", "%u"}, {"%OU", "%U"},
	{"%OV", "%V"}, {"%Ow", "%w"}, {"%OW", "%W"}, {"%Oy", "%y"},
}

var strftimeRules2 = []string{"%a", "%A", "%b", "%B", "%C", "%d", "%e", "%g", "%G", "%H", "%I", "%j", "%m", "%M", "%n", "%p", "%S", "%t", "%u", "%U", "%V", "%w", "%W", "%y", "%Y", "%z", "%Z", "%%"}

func isLeap(y int32) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func pad(n int64, digits int, c string) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < digits {
		s = c + s
	}
	return s
}

func at(list []string, i int32) string {
	if i < 0 || int(i) >= len(list) {
		return "undefined" // what JS indexing out of range prints
	}
	return list[i]
}

func expandStrftime(pattern string, d tmFields) string {
	for _, r := range strftimeRules1 {
		pattern = strings.ReplaceAll(pattern, r[0], r[1])
	}
	pattern = strings.ReplaceAll(pattern, "%%", "\x00\x00")
	for _, rule := range strftimeRules2 {
		if strings.Contains(pattern, rule) {
			pattern = strings.ReplaceAll(pattern, rule, strftimeField(rule, d))
		}
	}
	return strings.ReplaceAll(pattern, "\x00\x00", "%")
}

func strftimeField(rule string, d tmFields) string {
	year := d.year + 1900
	switch rule {
	case "%a":
		s := at(weekdays, d.wday)
		return s[:min(3, len(s))]
	case "%A":
		return at(weekdays, d.wday)
	case "%b":
		s := at(months, d.mon)
		return s[:min(3, len(s))]
	case "%B":
		return at(months, d.mon)
	case "%C":
		return pad(int64(year/100), 2, "0")
	case "%d":
		return pad(int64(d.mday), 2, "0")
	case "%e":
		return pad(int64(d.mday), 2, " ")
	case "%g":
		s := strconv.Itoa(weekBasedYear(d))
		if len(s) > 2 {
			return s[2:]
		}
		return ""
	case "%G":
		return strconv.Itoa(weekBasedYear(d))
	case "%H":
		return pad(int64(d.hour), 2, "0")
	case "%I":
		h := d.hour
		if h == 0 {
			h = 12
		} else if h > 12 {
			h -= 12
		}
		return pad(int64(h), 2, "0")
	case "%j":
		days := []int32{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
		if isLeap(year) {
			days[1] = 29
		}
		sum := d.mday
		for i := int32(0); i <= d.mon-1 && i < 12; i++ {
			sum += days[i]
		}
		return pad(int64(sum), 3, "0")
	case "%m":
		return pad(int64(d.mon+1), 2, "0")
	case "%M":
		return pad(int64(d.min), 2, "0")
	case "%n":
		return "\n"
	case "%p":
		if d.hour >= 0 && d.hour < 12 {
			return "AM"
		}
		return "PM"
	case "%S":
		return pad(int64(d.sec), 2, "0")
	case "%t":
		return "\t"
	case "%u":
		if d.wday == 0 {
			return "7"
		}
		return strconv.Itoa(int(d.wday))
	case "%U":
		return pad(int64(floorDiv(d.yday+7-d.wday, 7)), 2, "0")
	case "%V":
		val := floorDiv(d.yday+7-(d.wday+6)%7, 7)
		if (d.wday+371-d.yday-2)%7 <= 2 {
			val++
		}
		if val == 0 {
			val = 52
			dec31 := (d.wday + 7 - d.yday - 1) % 7
			if dec31 == 4 || (dec31 == 5 && isLeap(d.year%400-1)) {
				val++
			}
		} else if val == 53 {
			jan1 := (d.wday + 371 - d.yday) % 7
			if jan1 != 4 && (jan1 != 3 || !isLeap(d.year)) {
				val = 1
			}
		}
		return pad(int64(val), 2, "0")
	case "%w":
		return strconv.Itoa(int(d.wday))
	case "%W":
		return pad(int64(floorDiv(d.yday+7-(d.wday+6)%7, 7)), 2, "0")
	case "%y":
		s := strconv.Itoa(int(year))
		if len(s) > 2 {
			return s[2:]
		}
		return ""
	case "%Y":
		return strconv.Itoa(int(year))
	case "%z":
		off := d.gmtoff
		ahead := off >= 0
		if off < 0 {
			off = -off
		}
		m := float64(off) / 60
		val := m/60*100 + float64(int64(m)%60)
		s := "0000" + strconv.FormatFloat(val, 'f', -1, 64)
		sign := "+"
		if !ahead {
			sign = "-"
		}
		return sign + s[len(s)-4:]
	case "%Z":
		return d.zone
	case "%%":
		return "%"
	}
	return rule
}

func floorDiv(a, b int32) int32 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func firstWeekStart(janFourth time.Time) time.Time {
	y := janFourth.Year()
	switch janFourth.Weekday() {
	case 0:
		return time.Date(y-1, 12, 29, 0, 0, 0, 0, time.UTC)
	case 1:
		return janFourth
	case 2:
		return time.Date(y, 1, 3, 0, 0, 0, 0, time.UTC)
	case 3:
		return time.Date(y, 1, 2, 0, 0, 0, 0, time.UTC)
	case 4:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case 5:
		return time.Date(y-1, 12, 31, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(y-1, 12, 30, 0, 0, 0, 0, time.UTC)
	}
}

func weekBasedYear(d tmFields) int {
	this := time.Date(int(d.year)+1900, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(max(d.yday, 0)))
	y := this.Year()
	start := firstWeekStart(time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC))
	next := firstWeekStart(time.Date(y+1, 1, 4, 0, 0, 0, 0, time.UTC))
	if !start.After(this) {
		if !next.After(this) {
			return y + 1
		}
		return y
	}
	return y - 1
}

var _ = fmt.Sprintf
