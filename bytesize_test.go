package main

import "testing"

func TestByteSizeFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int // -1: rejected
	}{
		{"65536", 65536}, {"64KiB", 64 << 10}, {"16MiB", 16 << 20}, {"1GiB", 1 << 30}, {"2048B", 2048},
		{"1023", -1}, {"64KB", -1}, {"-1KiB", -1}, {"lots", -1}, {"", -1}, {"1.5MiB", -1}, {"99999999GiB", -1}, {"2GiB", -1}, {"1025MiB", -1},
	} {
		var n int
		err := byteSize{"test", &n, 1 << 10}.Set(tc.in)
		switch {
		case tc.want < 0 && err == nil:
			t.Errorf("%q accepted as %d", tc.in, n)
		case tc.want >= 0 && (err != nil || n != tc.want):
			t.Errorf("%q = %d, %v; want %d", tc.in, n, err, tc.want)
		}
	}
	if rc := run([]string{"--probe.transcript-max-bytes", "100", "--config.check"}); rc != 2 {
		t.Errorf("a transcript bound under 1 KiB: exit %d, want 2", rc)
	}
}
