package lang_test

import (
	"testing"

	"github.com/dst-dev/dst/lang"
	"github.com/dst-dev/dst/stdlib"
)

// testBuiltins is the real signature table.
func testBuiltins() *lang.Builtins { return stdlib.Signatures() }

// simplenetParams is the parameter table of simplenet_mnist.
func simplenetParams() []lang.ParamInfo {
	return []lang.ParamInfo{
		{Name: "conv1.weight", Shape: []int{20, 1, 5, 5}, Kind: "weight", Layer: "conv1"},
		{Name: "conv1.bias", Shape: []int{20}, Kind: "bias", Layer: "conv1"},
		{Name: "conv2.weight", Shape: []int{50, 20, 5, 5}, Kind: "weight", Layer: "conv2"},
		{Name: "conv2.bias", Shape: []int{50}, Kind: "bias", Layer: "conv2"},
		{Name: "fc1.weight", Shape: []int{500, 800}, Kind: "weight", Layer: "fc1"},
		{Name: "fc1.bias", Shape: []int{500}, Kind: "bias", Layer: "fc1"},
		{Name: "fc2.weight", Shape: []int{10, 500}, Kind: "weight", Layer: "fc2"},
		{Name: "fc2.bias", Shape: []int{10}, Kind: "bias", Layer: "fc2"},
	}
}

// lenet300Params is the parameter table of lenet300_100.
func lenet300Params() []lang.ParamInfo {
	return []lang.ParamInfo{
		{Name: "fc1.weight", Shape: []int{300, 784}, Kind: "weight", Layer: "fc1"},
		{Name: "fc1.bias", Shape: []int{300}, Kind: "bias", Layer: "fc1"},
		{Name: "fc2.weight", Shape: []int{100, 300}, Kind: "weight", Layer: "fc2"},
		{Name: "fc2.bias", Shape: []int{100}, Kind: "bias", Layer: "fc2"},
		{Name: "fc3.weight", Shape: []int{10, 100}, Kind: "weight", Layer: "fc3"},
		{Name: "fc3.bias", Shape: []int{10}, Kind: "bias", Layer: "fc3"},
	}
}

// resnet20Params is the parameter table of resnet20_cifar.
func resnet20Params() []lang.ParamInfo {
	ps := []lang.ParamInfo{
		{Name: "conv1.weight", Shape: []int{16, 3, 3, 3}, Kind: "weight", Layer: "conv1"},
		{Name: "bn1.weight", Shape: []int{16}, Kind: "norm_weight", Layer: "bn1"},
		{Name: "bn1.bias", Shape: []int{16}, Kind: "norm_bias", Layer: "bn1"},
	}
	in := 16
	for li, width := range []int{16, 32, 64} {
		for b := 0; b < 3; b++ {
			pre := "layer" + string(rune('1'+li)) + "." + string(rune('0'+b)) + "."
			cin := width
			if b == 0 {
				cin = in
			}
			ps = append(ps,
				lang.ParamInfo{Name: pre + "conv1.weight", Shape: []int{width, cin, 3, 3}, Kind: "weight", Layer: pre + "conv1"},
				lang.ParamInfo{Name: pre + "bn1.weight", Shape: []int{width}, Kind: "norm_weight", Layer: pre + "bn1"},
				lang.ParamInfo{Name: pre + "bn1.bias", Shape: []int{width}, Kind: "norm_bias", Layer: pre + "bn1"},
				lang.ParamInfo{Name: pre + "conv2.weight", Shape: []int{width, width, 3, 3}, Kind: "weight", Layer: pre + "conv2"},
				lang.ParamInfo{Name: pre + "bn2.weight", Shape: []int{width}, Kind: "norm_weight", Layer: pre + "bn2"},
				lang.ParamInfo{Name: pre + "bn2.bias", Shape: []int{width}, Kind: "norm_bias", Layer: pre + "bn2"},
			)
			if b == 0 && cin != width {
				ps = append(ps,
					lang.ParamInfo{Name: pre + "downsample.0.weight", Shape: []int{width, cin, 1, 1}, Kind: "weight", Layer: pre + "downsample.0"},
					lang.ParamInfo{Name: pre + "downsample.1.weight", Shape: []int{width}, Kind: "norm_weight", Layer: pre + "downsample.1"},
					lang.ParamInfo{Name: pre + "downsample.1.bias", Shape: []int{width}, Kind: "norm_bias", Layer: pre + "downsample.1"},
				)
			}
		}
		in = width
	}
	return append(ps,
		lang.ParamInfo{Name: "fc.weight", Shape: []int{10, 64}, Kind: "weight", Layer: "fc"},
		lang.ParamInfo{Name: "fc.bias", Shape: []int{10}, Kind: "bias", Layer: "fc"},
	)
}

func TestResnet20Table(t *testing.T) {
	ps := resnet20Params()
	if len(ps) != 3+9*6+2*3+2 {
		t.Fatalf("resnet20 table has %d params", len(ps))
	}
}
