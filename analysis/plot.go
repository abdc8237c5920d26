package analysis

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"github.com/dst-dev/dst/internal/runlog"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot sizes. The images are rendered at vgimg's default 96 dpi.
const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 5 * vg.Inch
)

// curveStyle returns the colour, dashes and marker of the i-th curve of a plot: the
// seven plotutil colours, then the same colours dashed, and so on.
func curveStyle(i int) (color.Color, []vg.Length, draw.GlyphDrawer) {
	nc := len(plotutil.DefaultColors)
	return plotutil.Color(i), plotutil.Dashes(i / nc), plotutil.Shape(i / nc)
}

// addCurve adds a line with point markers to p and its entry to legend.
func addCurve(p *plot.Plot, legend *plot.Legend, i int, name string, xys plotter.XYs) error {
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("analysis: plot %s: %w", name, err)
	}
	c, dashes, shape := curveStyle(i)
	line.Color, line.Dashes, line.Width = c, dashes, vg.Points(1.5)
	points.Color, points.Shape, points.Radius = c, shape, vg.Points(2.5)
	p.Add(line, points)
	legend.Add(name, line, points)
	return nil
}

// insideLegendMax is the number of curves whose legend fits inside the plot area; more
// get a legend column to the right of it.
const insideLegendMax = 6

// figure is a plot with an optional legend column to its right.
type figure struct {
	p *plot.Plot
	// side, when non-nil, is drawn right of the plot area; names are its entries.
	side  *plot.Legend
	names []string
}

// render draws the figure as a PNG image whose plot area (axes included) is w×h; a
// side legend widens the image, and lengthens it when its entries need more room.
func (f *figure) render(w, h vg.Length) ([]byte, error) {
	if f.side == nil {
		return renderPNG(f.p, w, h)
	}
	sty := f.side.TextStyle
	margin := vg.Points(10)
	lw := vg.Length(0)
	for _, n := range f.names {
		lw = max(lw, sty.Width(" "+n))
	}
	lw += f.side.ThumbnailWidth + 2*margin
	entry := sty.Rectangle("Mg").Max.Y
	h = max(h, vg.Length(len(f.names))*entry+4*margin)
	c := vgimg.New(w+lw, h)
	dc := draw.New(c)
	f.p.Draw(draw.Crop(dc, 0, -lw, 0, 0))
	f.side.Top, f.side.Left = true, true
	f.side.Draw(draw.Crop(dc, w+margin, -margin, margin, -2*margin))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sensitivityPlot draws top-1 accuracy against sparsity, one curve per parameter.
func sensitivityPlot(r *Result) (*figure, error) {
	p := plot.New()
	f := &figure{p: p}
	legend := &p.Legend
	if len(r.Params) > insideLegendMax {
		side := plot.NewLegend()
		f.side, f.names, legend = &side, r.Params, &side
	}
	switch {
	case r.Model != "" && r.Granularity != "":
		p.Title.Text = fmt.Sprintf("Sensitivity of %s (%s pruning)", r.Model, r.Granularity)
	case r.Model != "":
		p.Title.Text = "Sensitivity of " + r.Model
	default:
		p.Title.Text = "Sensitivity analysis"
	}
	p.X.Label.Text = "sparsity (%)"
	p.Y.Label.Text = "top-1 accuracy (%)"
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(8)
	n := len(r.Levels)
	for i, name := range r.Params {
		xys := make(plotter.XYs, n)
		for j := range n {
			pt := r.Points[i*n+j]
			xys[j] = plotter.XY{X: 100 * pt.Sparsity, Y: finite(pt.Top1)}
		}
		if err := addCurve(p, legend, i, name, xys); err != nil {
			return nil, err
		}
	}
	p.X.Min = math.Min(p.X.Min, 0)
	return f, nil
}

// finite maps NaN and ±Inf to 0 so a broken point shows as a drop, not a gap gonum
// would refuse.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// PlotSensitivity writes the sensitivity plot of r to path as a PNG image.
func PlotSensitivity(r *Result, path string) error {
	f, err := sensitivityPlot(r)
	if err != nil {
		return err
	}
	b, err := f.render(plotWidth, plotHeight)
	if err != nil {
		return fmt.Errorf("analysis: plot %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// savePNG renders p at the given size and writes it to path atomically.
func savePNG(p *plot.Plot, path string, w, h vg.Length) error {
	b, err := renderPNG(p, w, h)
	if err != nil {
		return fmt.Errorf("analysis: plot %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// renderPNG renders p as a PNG image of the given size.
func renderPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RunPlots are the file names [PlotRun] writes, in order.
var RunPlots = []string{"sparsity.png", "accuracy.png", "loss.png", "total_sparsity.png"}

// PlotRun draws the charts of a finished run from its summary into dir: per-parameter
// sparsity bars at the last epoch (sparsity.png), and per-epoch accuracy (accuracy.png),
// loss (loss.png) and total weight sparsity (total_sparsity.png). It returns the paths
// written.
func PlotRun(s *runlog.Summary, dir string) ([]string, error) {
	if len(s.Epochs) == 0 {
		return nil, fmt.Errorf("analysis: plot: the run has no finished epoch")
	}
	plots, err := runPlots(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, p := range plots {
		path := filepath.Join(dir, RunPlots[i])
		h := plotHeight
		if i == 0 {
			// One bar per parameter: grow with their number.
			h = max(plotHeight, vg.Length(len(barParams(s.Epochs[len(s.Epochs)-1].Params)))*vg.Points(16)+vg.Inch)
		}
		if err := savePNG(p, path, plotWidth, h); err != nil {
			return out, err
		}
		out = append(out, path)
	}
	return out, nil
}

// runPlots builds the four plots of [PlotRun].
func runPlots(s *runlog.Summary) ([]*plot.Plot, error) {
	last := s.Epochs[len(s.Epochs)-1]
	model := s.Meta["model"]
	if model == "" {
		model = "the model"
	}
	// Sparsity bars, one per parameter, top to bottom in model order.
	bars := plot.New()
	bars.Title.Text = fmt.Sprintf("Weight sparsity of %s after epoch %d", model, last.Metrics.Epoch)
	bars.X.Label.Text = "sparsity (%)"
	bars.Y.Label.Text = "parameter"
	bars.X.Min, bars.X.Max = 0, 100
	shown := barParams(last.Params)
	n := len(shown)
	if n == 0 {
		return nil, fmt.Errorf("analysis: plot: epoch %d records no parameter", last.Metrics.Epoch)
	}
	vals := make(plotter.Values, n)
	names := make([]string, n)
	for i, p := range shown {
		vals[n-1-i] = 100 * p.Sparsity
		names[n-1-i] = p.Name
	}
	bc, err := plotter.NewBarChart(vals, vg.Points(10))
	if err != nil {
		return nil, fmt.Errorf("analysis: plot sparsity: %w", err)
	}
	bc.Horizontal = true
	bc.Color = plotutil.Color(0)
	bc.LineStyle.Width = 0
	bars.Add(plotter.NewGrid(), bc)
	bars.NominalY(names...)
	bars.Legend.Add(fmt.Sprintf("element sparsity (total %.2f%%)", 100*last.WeightSparsity), bc)
	bars.Legend.Top = true

	curves := func(title, ylabel string, series []string, get func(e *runlog.EpochSummary) []float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s of %s", title, model)
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		xys := make([]plotter.XYs, len(series))
		for k := range s.Epochs {
			e := &s.Epochs[k]
			for i, v := range get(e) {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					xys[i] = append(xys[i], plotter.XY{X: float64(e.Metrics.Epoch), Y: v})
				}
			}
		}
		drawn := 0
		for i, name := range series {
			if len(xys[i]) == 0 {
				continue // e.g. test figures of a run without a test set
			}
			if err := addCurve(p, &p.Legend, i, name, xys[i]); err != nil {
				return nil, err
			}
			drawn++
		}
		if drawn == 0 {
			return nil, fmt.Errorf("analysis: plot %s: no finite value", title)
		}
		p.X.Tick.Marker = epochTicks{}
		// Keep the first and last points off the frame.
		p.X.Min, p.X.Max = p.X.Min-0.25, p.X.Max+0.25
		return p, nil
	}
	acc, err := curves("Accuracy", "accuracy (%)", []string{"top-1 (test)", "top-5 (test)", "top-1 (train)"},
		func(e *runlog.EpochSummary) []float64 {
			return []float64{e.Metrics.Top1, e.Metrics.Top5, e.Metrics.TrainTop1}
		})
	if err != nil {
		return nil, err
	}
	acc.Legend.Top = false
	loss, err := curves("Loss", "cross-entropy loss", []string{"test", "train"},
		func(e *runlog.EpochSummary) []float64 { return []float64{e.Metrics.TestLoss, e.Metrics.TrainLoss} })
	if err != nil {
		return nil, err
	}
	loss.Legend.Top = true
	sp, err := curves("Total weight sparsity", "sparsity (%)", []string{"2-D and 4-D weights"},
		func(e *runlog.EpochSummary) []float64 { return []float64{100 * e.WeightSparsity} })
	if err != nil {
		return nil, err
	}
	sp.Legend.Top, sp.Legend.Left = true, true
	sp.Y.Min = 0
	return []*plot.Plot{bars, acc, loss, sp}, nil
}

// barParams returns the parameters the sparsity bars show: the weights (2-D or more),
// or every parameter when none is.
func barParams(ps []runlog.ParamNNZ) []runlog.ParamNNZ {
	var out []runlog.ParamNNZ
	for _, p := range ps {
		if len(p.Shape) >= 2 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return ps
	}
	return out
}

// epochTicks puts ticks on whole epochs only.
type epochTicks struct{}

// Ticks implements [plot.Ticker].
func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value == math.Trunc(t.Value) {
			if t.Label != "" {
				t.Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
			}
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		for v := math.Ceil(lo); v <= hi; v++ {
			out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return out
}
