package wire

import (
	"encoding/json"
	"testing"
)

func TestMACString(t *testing.T) {
	for _, tc := range []struct {
		m    MAC
		want string
	}{
		{MAC{}, "00:00:00:00:00:00"},
		{BroadcastMAC(), "ff:ff:ff:ff:ff:ff"},
		{MAC{0x02, 0x00, 0x5e, 0x10, 0xab, 0x0c}, "02:00:5e:10:ab:0c"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		back, err := ParseMAC(tc.want)
		if err != nil || back != tc.m {
			t.Errorf("ParseMAC(%q) = %v, %v", tc.want, back, err)
		}
	}
}

func TestMACClasses(t *testing.T) {
	for _, tc := range []struct {
		m                  MAC
		bcast, mcast, zero bool
	}{
		{BroadcastMAC(), true, true, false},
		{MAC{0x01, 0x00, 0x5e, 0, 0, 1}, false, true, false},           // IPv4 multicast
		{MAC{0x33, 0x33, 0xff, 0, 0, 1}, false, true, false},           // IPv6 solicited-node
		{MAC{0x02, 0, 0, 0, 0, 1}, false, false, false},                // locally administered unicast
		{MAC{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, false, false, false}, // I/G bit clear
		{MAC{}, false, false, true},
	} {
		if tc.m.IsBroadcast() != tc.bcast || tc.m.IsMulticast() != tc.mcast || tc.m.IsZero() != tc.zero {
			t.Errorf("%v: broadcast %v multicast %v zero %v, want %v %v %v", tc.m,
				tc.m.IsBroadcast(), tc.m.IsMulticast(), tc.m.IsZero(), tc.bcast, tc.mcast, tc.zero)
		}
	}
}

func TestParseMAC(t *testing.T) {
	good := map[string]MAC{
		"02-00-00-00-00-01": {2, 0, 0, 0, 0, 1},
		"AA:bb:Cc:dD:0:f":   {0xaa, 0xbb, 0xcc, 0xdd, 0, 0xf},
	}
	for s, want := range good {
		if got, err := ParseMAC(s); err != nil || got != want {
			t.Errorf("ParseMAC(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "02:00:00:00:00", "02:00:00:00:00:01:", "02:00:00:00:00:001",
		"02:00-00:00:00:01", "02::00:00:00:01", "0g:00:00:00:00:01", "02:00:00:00:00:01 ", "020000000001"} {
		if m, err := ParseMAC(s); err == nil {
			t.Errorf("ParseMAC(%q) = %v, want error", s, m)
		}
	}
}

func TestMACText(t *testing.T) {
	type conf struct{ Addr MAC }
	j, err := json.Marshal(conf{MAC{0x02, 0xab, 0, 0, 0, 0x01}})
	if err != nil || string(j) != `{"Addr":"02:ab:00:00:00:01"}` {
		t.Fatalf("Marshal = %s, %v", j, err)
	}
	var c conf
	if err := json.Unmarshal([]byte(`{"Addr":"02-AB-00-00-00-01"}`), &c); err != nil || c.Addr != (MAC{0x02, 0xab, 0, 0, 0, 1}) {
		t.Fatalf("Unmarshal = %v, %v", c.Addr, err)
	}
	if err := json.Unmarshal([]byte(`{"Addr":"02:ab"}`), &c); err == nil {
		t.Fatal("short address accepted")
	}
	if n := testing.AllocsPerRun(10, func() {
		var buf [17]byte
		c.Addr.AppendText(buf[:0])
	}); n != 0 {
		t.Fatalf("AppendText allocates %v times", n)
	}
}
