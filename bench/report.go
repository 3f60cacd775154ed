package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// measurement is one sample of one side in one round.
type measurement struct {
	Side   string `json:"side"`
	C      int    `json:"c"`
	Round  int    `json:"round"`
	Sample sample `json:"sample"`
}

// output is everything one run measured; print shows it as tables or JSON.
type output struct {
	Probes      int           `json:"probes_per_measurement"`
	Chunk       string        `json:"probes_per_turn"`
	Rounds      int           `json:"rounds"`
	Concurrency []int         `json:"concurrency"`
	CPUs        int           `json:"cpus"`
	LoadBefore  string        `json:"load_average_before"`
	LoadAfter   string        `json:"load_average_after"`
	Sides       []string      `json:"sides"`
	Runs        []measurement `json:"runs"`
	Summary     []summaryRow  `json:"summary"`
	Ratios      []ratio       `json:"ratios"`
	Goals       []goal        `json:"goals"`
	Throughput  []throughput  `json:"throughput"`
	Memory      *memoryResult `json:"memory,omitempty"`
	Cost        *costResult   `json:"cost,omitempty"`
	Tarpit      *tarpitResult `json:"tarpit,omitempty"`
}

// spread is the median and range of a value over the rounds.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{}
	}
	s := slices.Sorted(slices.Values(v))
	return spread{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1]}
}

type summaryRow struct {
	Side      string `json:"side"`
	C         int    `json:"c"`
	CPUMs     spread `json:"cpu_ms_per_probe"`
	PerSecond spread `json:"probes_per_second"`
	PeakRSSMB spread `json:"peak_rss_mb"`
	AllocKB   spread `json:"alloc_kb_per_probe"`
	Mallocs   spread `json:"mallocs_per_probe"`
	RSSAnonMB spread `json:"rss_anon_mb"`
	RSSFileMB spread `json:"rss_file_mb"`
}

// ratio is a/b of one quantity: of the two sides' medians, and the range
// of the same ratio taken round by round (the two measured minutes apart).
type ratio struct {
	Name      string  `json:"name"`
	C         int     `json:"c"`
	OfMedians float64 `json:"of_medians"`
	RoundMin  float64 `json:"round_min"`
	RoundMax  float64 `json:"round_max"`
}

type goal struct {
	Name  string  `json:"name"`
	C     int     `json:"c"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Met   bool    `json:"met"`
}

// throughput is the cores 10,000 targets every 60 s need at a side's CPU per probe.
type throughput struct {
	Side          string  `json:"side"`
	C             int     `json:"c"`
	ProbesPerSec  float64 `json:"probes_per_second"`
	Cores         float64 `json:"cores"`
	ProbesPerCore float64 `json:"probes_per_second_per_core"`
}

func (o *output) values(side string, c int, f func(sample) float64) []float64 {
	var v []float64
	for _, m := range o.Runs {
		if m.Side == side && m.C == c {
			v = append(v, f(m.Sample))
		}
	}
	return v
}

func (o *output) summarise() {
	for _, c := range o.Concurrency {
		for _, s := range o.Sides {
			o.Summary = append(o.Summary, summaryRow{Side: s, C: c,
				CPUMs:     spreadOf(o.values(s, c, func(x sample) float64 { return x.CPUMsPerProbe })),
				PerSecond: spreadOf(o.values(s, c, func(x sample) float64 { return x.PerSecond })),
				PeakRSSMB: spreadOf(o.values(s, c, func(x sample) float64 { return x.PeakRSSMB })),
				AllocKB:   spreadOf(o.values(s, c, func(x sample) float64 { return x.AllocKBPerProbe })),
				Mallocs:   spreadOf(o.values(s, c, func(x sample) float64 { return x.MallocsPerProbe })),
				RSSAnonMB: spreadOf(o.values(s, c, func(x sample) float64 { return x.RSSAnonMB })),
				RSSFileMB: spreadOf(o.values(s, c, func(x sample) float64 { return x.RSSFileMB })),
			})
		}
	}
	o.ratios()
	o.goals()
	o.throughput()
}

var ratioDefs = []struct {
	name, a, b string
	rss        bool
}{
	{"CPU smtp_exporter / HTTP floor", sideExporter, sideFloor, false},
	{"CPU smtp_exporter / floor + libraries", sideExporter, sideLibs, false},
	{"CPU floor + libraries / HTTP floor", sideLibs, sideFloor, false},
	{"CPU smtp_exporter / bare dialogue", sideExporter, sideBare, false},
	{"CPU smtp_exporter / blackbox", sideExporter, sideBlackbox, false},
	{"CPU HTTP floor / bare dialogue", sideFloor, sideBare, false},
	{"CPU HTTP floor again / HTTP floor (A/A)", sideFloorAA, sideFloor, false},
	{"peak RSS smtp_exporter / HTTP floor", sideExporter, sideFloor, true},
	{"peak RSS smtp_exporter / floor + libraries", sideExporter, sideLibs, true},
	{"peak RSS floor + libraries / HTTP floor", sideLibs, sideFloor, true},
	{"peak RSS smtp_exporter / blackbox", sideExporter, sideBlackbox, true},
}

func (o *output) ratios() {
	for _, d := range ratioDefs {
		if !slices.Contains(o.Sides, d.a) || !slices.Contains(o.Sides, d.b) {
			continue
		}
		f := func(x sample) float64 { return x.CPUMsPerProbe }
		if d.rss {
			f = func(x sample) float64 { return x.PeakRSSMB }
		}
		for _, c := range o.Concurrency {
			a, b := o.values(d.a, c, f), o.values(d.b, c, f)
			var perRound []float64
			for r := range min(len(a), len(b)) {
				perRound = append(perRound, a[r]/b[r])
			}
			pr := spreadOf(perRound)
			o.Ratios = append(o.Ratios, ratio{Name: d.name, C: c,
				OfMedians: spreadOf(a).Median / spreadOf(b).Median, RoundMin: pr.Min, RoundMax: pr.Max})
		}
	}
}

func (o *output) ratioOf(name string, c int) (ratio, bool) {
	i := slices.IndexFunc(o.Ratios, func(r ratio) bool { return r.Name == name && r.C == c })
	if i < 0 {
		return ratio{}, false
	}
	return o.Ratios[i], true
}

// goals are issue 14's: at most 1.10 × the floor's CPU at c=1 and c=16,
// at most 1.5 × its peak RSS at c=16.
func (o *output) goals() {
	for _, g := range []goal{
		{Name: "CPU smtp_exporter / HTTP floor", C: 1, Limit: 1.10},
		{Name: "CPU smtp_exporter / HTTP floor", C: 16, Limit: 1.10},
		{Name: "peak RSS smtp_exporter / HTTP floor", C: 16, Limit: 1.5},
	} {
		if r, ok := o.ratioOf(g.Name, g.C); ok {
			g.Value, g.Met = r.OfMedians, r.OfMedians <= g.Limit
			o.Goals = append(o.Goals, g)
		}
	}
}

// throughputC is the concurrency whose CPU per probe the throughput uses:
// 16 when measured (many targets are probed at once), else the highest.
func (o *output) throughputC() int {
	if slices.Contains(o.Concurrency, 16) {
		return 16
	}
	return slices.Max(o.Concurrency)
}

func (o *output) throughput() {
	const perSecond = 10000.0 / 60
	c := o.throughputC()
	for _, s := range o.Sides {
		ms := spreadOf(o.values(s, c, func(x sample) float64 { return x.CPUMsPerProbe })).Median
		if ms > 0 {
			o.Throughput = append(o.Throughput, throughput{Side: s, C: c, ProbesPerSec: perSecond,
				Cores: perSecond * ms / 1000, ProbesPerCore: 1000 / ms})
		}
	}
}

func (o *output) print(w io.Writer, asJSON bool) error {
	o.summarise()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	o.printTable(w)
	o.printRatios(w)
	o.Memory.print(w)
	o.Cost.print(w)
	o.Tarpit.print(w)
	return nil
}

func (o *output) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nSTARTTLS probe cost: %d probes per side, median [min–max] of %d rounds; each round a fresh process per side,\n"+
		"the sides taking turns in chunks of %s probes so that the machine's noise falls on all alike\n",
		o.Probes, o.Rounds, o.Chunk)
	fmt.Fprintf(w, "%d CPUs, load average %s before and %s after: on a shared machine compare sides within one run\n\n",
		o.CPUs, o.LoadBefore, o.LoadAfter)
	fmt.Fprintf(w, "%-6s %-24s %-22s %9s  %-18s %-12s %9s %7s\n", "", "", "CPU ms/probe", "probes/s", "peak RSS MB", "anon+file", "KB alloc", "allocs")
	for _, row := range o.Summary {
		c := ""
		if row.Side == o.Sides[0] {
			c = fmt.Sprintf("c=%d", row.C)
		}
		alloc, mallocs := fmt.Sprintf("%.1f", row.AllocKB.Median), fmt.Sprintf("%.0f", row.Mallocs.Median)
		if row.AllocKB.Median == 0 {
			alloc, mallocs = "—", "—"
		}
		fmt.Fprintf(w, "%-6s %-24s %-22s %9.0f  %-18s %-12s %9s %7s\n", c, sideLabels[row.Side],
			fmt.Sprintf("%.3f [%.3f–%.3f]", row.CPUMs.Median, row.CPUMs.Min, row.CPUMs.Max), row.PerSecond.Median,
			fmt.Sprintf("%.1f [%.1f–%.1f]", row.PeakRSSMB.Median, row.PeakRSSMB.Min, row.PeakRSSMB.Max),
			fmt.Sprintf("%.1f+%.1f", row.RSSAnonMB.Median, row.RSSFileMB.Median), alloc, mallocs)
	}
	fmt.Fprintln(w, "anon+file: the RSS when the probes ended, anonymous (heap, stacks) + file-backed (the binary's pages read).")
	fmt.Fprintln(w, "KB alloc, allocs: Go heap allocations per probe in the side's process.")
}

func (o *output) printRatios(w io.Writer) {
	fmt.Fprintf(w, "\nRatios: of the medians [range of the same ratio round by round]\n%-44s", "")
	for _, c := range o.Concurrency {
		fmt.Fprintf(w, " %-20s", fmt.Sprintf("c=%d", c))
	}
	name := ""
	for _, r := range o.Ratios {
		if r.Name != name {
			name = r.Name
			fmt.Fprintf(w, "\n%-44s", name)
		}
		fmt.Fprintf(w, " %-20s", fmt.Sprintf("%.2f [%.2f–%.2f]", r.OfMedians, r.RoundMin, r.RoundMax))
	}
	fmt.Fprintln(w)
	if len(o.Goals) > 0 {
		fmt.Fprintln(w, "\nGoals (issue 14), on the medians:")
		for _, g := range o.Goals {
			verdict := "NOT MET"
			if g.Met {
				verdict = "met"
			}
			fmt.Fprintf(w, "  %-44s c=%-3d %.2f ≤ %.2f  %s\n", g.Name, g.C, g.Value, g.Limit, verdict)
		}
	}
	var parts []string
	for _, t := range o.Throughput {
		if t.Side != sideBare {
			parts = append(parts, fmt.Sprintf("%s ≈ %.2f cores (%.0f probes/s per core)", sideLabels[t.Side], t.Cores, t.ProbesPerCore))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "\n10,000 targets every 60 s = 167 STARTTLS probes/s, at the CPU per probe of c=%d:\n  %s\n",
			o.throughputC(), strings.Join(parts, "\n  "))
	}
}
