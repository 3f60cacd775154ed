package main

import (
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/smtp-exporter/smtp_exporter/prober/smtptest"
)

type memoryResult struct {
	AtRest  []restRSS    `json:"at_rest"`
	History []historyRSS `json:"history"`
}

// restRSS is a side's resident set after start-up, before any probe: its
// anonymous part (heap, stacks) and its file part (the binary's pages read),
// with the size of the binary's read-only segments (code, tables) beside it.
type restRSS struct {
	Side     string  `json:"side"`
	RSSMB    float64 `json:"rss_mb"`
	AnonMB   float64 `json:"rss_anon_mb"`
	FileMB   float64 `json:"rss_file_mb"`
	BinaryMB float64 `json:"binary_readonly_mb"`
}

// historyRSS is the exporter's memory once its history is full: Passed
// passing and as many failing probes run through with --history.limit=Limit.
type historyRSS struct {
	Limit       int     `json:"history_limit"`
	Passed      int     `json:"passed_and_failed_each"`
	RSSMB       float64 `json:"rss_mb"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	HeapInuseMB float64 `json:"go_heap_inuse_mb"`
}

// settle is how long a process sits idle before its RSS is read.
const settle = time.Second

// memory measures what the exporter holds at rest and with a full history
// of typical probes: half passing, half failing on an untrusted certificate
// (a whole dialogue), each with its transcript.
func (e *env) memory(out *output) error {
	sides, err := e.sides()
	if err != nil {
		return err
	}
	res := &memoryResult{}
	for _, s := range sides {
		if s.name == sideBare {
			continue
		}
		progress("memory at rest: %s", s.name)
		p, err := s.srv.start()
		if err != nil {
			return err
		}
		time.Sleep(settle)
		res.AtRest = append(res.AtRest, restRSS{Side: s.name, RSSMB: statusMB(p.pid(), "VmRSS"),
			AnonMB: statusMB(p.pid(), "RssAnon"), FileMB: statusMB(p.pid(), "RssFile"), BinaryMB: readOnlyMB(s.srv.bin)})
		p.stop()
	}
	for _, limit := range e.opt.historyLimits {
		progress("memory with --history.limit=%d", limit)
		h, err := e.historyRSS(limit)
		if err != nil {
			return fmt.Errorf("history %d: %w", limit, err)
		}
		res.History = append(res.History, h)
	}
	out.Memory = res
	return nil
}

func (e *env) historyRSS(limit int) (historyRSS, error) {
	cert := smtptest.SelfSigned(e.t, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	untrusted := smtptest.NewServer(e.t, smtptest.Options{Cert: &cert, GreetAtOnce: true})
	srv, err := e.exporterServer("bench.yml", exporterConfig(e.caPath))
	if err != nil {
		return historyRSS{}, err
	}
	p, err := srv.start("--history.limit=" + strconv.Itoa(limit))
	if err != nil {
		return historyRSS{}, err
	}
	defer p.stop()
	sc := newScraper(16)
	defer sc.close()
	each := max(limit, 100)
	// Failures first: the passing probes then fill the recent ring, and the
	// failures' ring keeps the failures: both full, 2 × limit probes kept.
	for _, run := range []struct{ target, want string }{
		{untrusted.Addr, "probe_success 0"}, {e.target, "probe_success 1"},
	} {
		url := "http://" + p.addr + "/probe?module=bench&target=" + run.target
		if err := parallel(each, 16, func() error { return sc.get(url, run.want) }); err != nil {
			return historyRSS{}, err
		}
	}
	sc.close()
	time.Sleep(settle)
	h := historyRSS{Limit: limit, Passed: each, RSSMB: statusMB(p.pid(), "VmRSS"), PeakRSSMB: statusMB(p.pid(), "VmHWM")}
	if resp, err := http.Get("http://" + p.addr + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h.HeapInuseMB = metricValue(string(body), "go_memstats_heap_inuse_bytes") / (1 << 20)
	}
	return h, nil
}

func (m *memoryResult) print(w io.Writer) {
	if m == nil {
		return
	}
	fmt.Fprintln(w, "\nMemory at rest (started, no probe yet), MB: RSS = anonymous (heap, stacks) + file (the binary's pages);")
	fmt.Fprintln(w, "binary: its read-only segments (code, tables), which the file part follows wherever the kernel maps them nearly whole")
	for _, r := range m.AtRest {
		fmt.Fprintf(w, "  %-24s %6.1f = %5.1f + %5.1f   binary %5.1f\n", sideLabels[r.Side], r.RSSMB, r.AnonMB, r.FileMB, r.BinaryMB)
	}
	fmt.Fprintln(w, "smtp_exporter with a full history: N failing (untrusted certificate), then N passing probes at c=16, then 1 s idle")
	fmt.Fprintf(w, "  %-16s %6s %10s %12s %16s\n", "--history.limit", "N", "VmRSS MB", "peak RSS MB", "Go heap in use MB")
	for _, h := range m.History {
		fmt.Fprintf(w, "  %-16d %6d %10.1f %12.1f %16.1f\n", h.Limit, h.Passed, h.RSSMB, h.PeakRSSMB, h.HeapInuseMB)
	}
}

// readOnlyMB is the size of a program's loaded read-only segments (code,
// rodata, the function tables), 0 when it cannot be read.
func readOnlyMB(path string) float64 {
	f, err := elf.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 {
			n += p.Memsz
		}
	}
	return float64(n) / (1 << 20) // MiB, as statusMB
}
