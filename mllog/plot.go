package mllog

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// DefaultPlotMetrics are drawn when no metric is named, if present.
var DefaultPlotMetrics = []string{"train_mean_nll", "test/nll"}

var errNothingToPlot = errors.New("nothing to plot")

// Plot draws metrics (nil: the default choice) of LOG_DIR/metrics.jsonl
// against the step into a PNG at out. The default is train_mean_nll and
// test/nll when present, else every metric whose name contains "nll" or
// "loss". Naming a metric the log does not have is an error listing the
// ones it has.
func Plot(dir string, metrics []string, out string) error {
	steps, _, err := ReadMetrics(dir)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		return fmt.Errorf("%s: no metrics in %s: %w", dir, MetricsFile, errNothingToPlot)
	}
	return plotSteps(steps, metrics, dir, out)
}

// MetricNames lists the numeric metrics logged in steps, sorted.
func MetricNames(steps []Step) []string {
	seen := map[string]bool{}
	for _, s := range steps {
		for k := range s.Metrics {
			seen[k] = true
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func chooseMetrics(steps []Step, want []string) ([]string, error) {
	have := MetricNames(steps)
	has := map[string]bool{}
	for _, k := range have {
		has[k] = true
	}
	if len(want) > 0 {
		for _, k := range want {
			if !has[k] {
				return nil, fmt.Errorf("no metric %q in the log (it has: %s)", k, strings.Join(have, ", "))
			}
		}
		return want, nil
	}
	var out []string
	for _, k := range DefaultPlotMetrics {
		if has[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		for _, k := range have {
			if strings.Contains(k, "nll") || strings.Contains(k, "loss") {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no loss metric to plot (name one with --metric; the log has: %s): %w", strings.Join(have, ", "), errNothingToPlot)
	}
	return out, nil
}

var palette = []color.RGBA{
	{R: 31, G: 119, B: 180, A: 255}, {R: 255, G: 127, B: 14, A: 255}, {R: 44, G: 160, B: 44, A: 255},
	{R: 214, G: 39, B: 40, A: 255}, {R: 148, G: 103, B: 189, A: 255}, {R: 140, G: 86, B: 75, A: 255},
}

func plotSteps(steps []Step, want []string, title, out string) error {
	return plotRuns([]run{{steps: steps}}, want, title, out)
}

// run is one log directory's steps; label prefixes its series when
// several runs share a plot.
type run struct {
	label string
	steps []Step
}

// PlotRuns draws the same metrics of several log directories into one PNG
// (series named "DIR: metric"), e.g. to compare a sweep.
func PlotRuns(dirs []string, metrics []string, out string) error {
	var runs []run
	for _, d := range dirs {
		steps, _, err := ReadMetrics(d)
		if err != nil {
			return err
		}
		if len(steps) == 0 {
			return fmt.Errorf("%s: no metrics in %s: %w", d, MetricsFile, errNothingToPlot)
		}
		runs = append(runs, run{label: filepath.Base(filepath.Clean(d)), steps: steps})
	}
	if len(runs) == 1 {
		return plotRuns(runs, metrics, dirs[0], out)
	}
	return plotRuns(runs, metrics, "", out)
}

func plotRuns(runs []run, want []string, title, out string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.X.Tick.Marker = intTicks{}
	p.Add(plotter.NewGrid())
	series := 0
	var allNames []string
	for _, r := range runs {
		names, err := chooseMetrics(r.steps, want)
		if err != nil {
			if r.label != "" && len(runs) > 1 {
				return fmt.Errorf("%s: %w", r.label, err)
			}
			return err
		}
		for _, name := range names {
			allNames = append(allNames, name)
			var pts plotter.XYs
			for _, s := range r.steps {
				if v, ok := s.Metrics[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					pts = append(pts, plotter.XY{X: float64(s.Step), Y: v})
				}
			}
			if len(pts) == 0 {
				continue
			}
			c := palette[series%len(palette)]
			series++
			line, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			line.Color = c
			line.Width = vg.Points(1.5)
			p.Add(line)
			label := name
			if len(runs) > 1 {
				label = r.label + ": " + name
			}
			p.Legend.Add(label, line)
			if len(pts) <= 30 { // sparse series (evals): mark the points
				sc, err := plotter.NewScatter(pts)
				if err != nil {
					return err
				}
				sc.Color = c
				sc.Radius = vg.Points(2.5)
				p.Add(sc)
			}
		}
	}
	p.Y.Label.Text = "value"
	if distinct := uniq(allNames); len(distinct) == 1 {
		p.Y.Label.Text = distinct[0]
	}
	p.Legend.Top = true
	if err := p.Save(9*vg.Inch, 5*vg.Inch, out); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// intTicks labels the step axis with whole numbers.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(math.Round(ticks[i].Value), 'f', 0, 64)
			if ticks[i].Value != math.Round(ticks[i].Value) {
				ticks[i].Label = ""
			}
		}
	}
	return ticks
}
