package analysis

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/dst-dev/dst/internal/runlog"
)

// checkPNG decodes a PNG image and checks its size, that it is not blank, that every
// curve colour of a legend with n entries is drawn, and that there is text (dark
// pixels) in the left and bottom margins, where the axis labels and tick labels are.
func checkPNG(t *testing.T, b []byte, wantW, wantH, n int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	r := img.Bounds()
	if (wantW > 0 && r.Dx() != wantW) || (wantH > 0 && r.Dy() != wantH) {
		t.Fatalf("size %dx%d, want %dx%d", r.Dx(), r.Dy(), wantW, wantH)
	}
	colours := map[color.RGBA]int{}
	darkLeft, darkBottom := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colours[c]++
			dark := int(c.R)+int(c.G)+int(c.B) < 200
			if dark && x < r.Dx()/12 {
				darkLeft++
			}
			if dark && y > r.Dy()-r.Dy()/12 {
				darkBottom++
			}
		}
	}
	if len(colours) < 20 {
		t.Errorf("%d distinct colours: blank image?", len(colours))
	}
	if darkLeft < 50 || darkBottom < 50 {
		t.Errorf("little text in the margins (left %d, bottom %d dark pixels): axis labels missing?", darkLeft, darkBottom)
	}
	for i := range min(n, 7) {
		c, _, _ := curveStyle(i)
		want := color.RGBAModel.Convert(c).(color.RGBA)
		if colours[want] < 10 {
			t.Errorf("curve %d's colour %v drawn on %d pixels", i, want, colours[want])
		}
	}
	return img
}

func testResult() *Result {
	r := &Result{Model: "simplenet_mnist", Granularity: "elements", Levels: []float64{0, 0.3, 0.6, 0.9},
		Params: []string{"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}}
	for i, p := range r.Params {
		for j, l := range r.Levels {
			r.Points = append(r.Points, Point{Param: p, Sparsity: l, Top1: 99 - float64(i*j*j*3), Top5: 100, Loss: 0.1})
		}
	}
	return r
}

func TestPlotSensitivity(t *testing.T) {
	r := testResult()
	f, err := sensitivityPlot(r)
	if err != nil {
		t.Fatal(err)
	}
	p := f.p
	if p.Title.Text == "" || p.X.Label.Text != "sparsity (%)" || p.Y.Label.Text != "top-1 accuracy (%)" {
		t.Errorf("title %q, x %q, y %q", p.Title.Text, p.X.Label.Text, p.Y.Label.Text)
	}
	path := filepath.Join(t.TempDir(), "sensitivity.png")
	if err := PlotSensitivity(r, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, b, 768, 480, len(r.Params))
	// Rendering is deterministic: the merged and the unsharded sweep give the same file.
	b2, err := f.render(plotWidth, plotHeight)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("two renderings of the same result differ")
	}
}

func TestPlotRun(t *testing.T) {
	s, err := runlog.ReadSummary("../internal/runlog/testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := PlotRun(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	legends := []int{1, 3, 2, 1}
	if len(paths) != len(RunPlots) {
		t.Fatalf("wrote %v", paths)
	}
	for i, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			checkPNG(t, b, 768, 0, legends[i])
		})
	}
	if _, err := PlotRun(&runlog.Summary{}, dir); err == nil {
		t.Error("empty summary: no error")
	}
}

// TestPlotSensitivitySideLegend checks that many curves get a legend column right of the
// plot, which widens the image, and that every colour is drawn.
func TestPlotSensitivitySideLegend(t *testing.T) {
	r := &Result{Model: "resnet20_cifar", Granularity: "elements", Levels: []float64{0, 0.5, 0.9}}
	for i := range 12 {
		name := "layer1." + string(rune('a'+i)) + ".conv1.weight"
		r.Params = append(r.Params, name)
		for j, l := range r.Levels {
			r.Points = append(r.Points, Point{Param: name, Sparsity: l, Top1: 90 - float64(i*j*3)})
		}
	}
	f, err := sensitivityPlot(r)
	if err != nil {
		t.Fatal(err)
	}
	if f.side == nil {
		t.Fatal("12 curves: no side legend")
	}
	b, err := f.render(plotWidth, plotHeight)
	if err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, b, 0, 480, len(r.Params))
	if w := img.Bounds().Dx(); w <= 768 {
		t.Errorf("width %d: the legend column did not widen the image", w)
	}
	// The legend column holds text and the thumbnails' colours.
	dark := 0
	for y := 0; y < 480; y++ {
		for x := 780; x < img.Bounds().Dx(); x++ {
			if c := color.GrayModel.Convert(img.At(x, y)).(color.Gray); c.Y < 80 {
				dark++
			}
		}
	}
	if dark < 200 {
		t.Errorf("legend column: %d dark pixels", dark)
	}
}
