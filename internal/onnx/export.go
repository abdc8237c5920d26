// Package onnx exports dst models as ONNX files, so a dense or thinned model can run in
// any ONNX runtime.
//
// The exporter walks the model's module tree and emits one ONNX node per layer (opset
// 13): Conv, Gemm (transB), BatchNormalization, Relu, MaxPool, AveragePool
// (count_include_pad, as PyTorch), Flatten and Add for residual blocks; Dropout is the
// identity at inference and is left out. Parameters and BatchNorm statistics become
// initializers under their PyTorch names, with their current shapes, so a thinned model
// exports with its smaller layers. The graph's input "input" is N×C×H×W with a symbolic
// batch dimension; its output "logits" is N×classes.
package onnx

import (
	"fmt"

	"github.com/dst-dev/dst/internal/atomicfile"
	"github.com/dst-dev/dst/internal/onnx/onnxpb"
	"github.com/dst-dev/dst/nn"
	"google.golang.org/protobuf/proto"
)

// Opset is the ONNX operator-set version the exporter targets.
const Opset = 13

// irVersion is the ONNX IR version of opset 13 files (ONNX 1.8 and later read it).
const irVersion = 7

// Export returns the ONNX model of m.
func Export(m *nn.Model) (*onnxpb.ModelProto, error) {
	e := &exporter{g: &onnxpb.GraphProto{Name: proto.String(m.Name)}}
	in := valueInfo("input", append([]any{"batch"}, intsAny(m.Input)...))
	e.g.Input = []*onnxpb.ValueInfoProto{in}
	out, err := e.module(m.Root(), "input")
	if err != nil {
		return nil, err
	}
	// Name the final value "logits" with an Identity, so callers need not know the last layer.
	e.node("Identity", "output", []string{out}, []string{"logits"})
	e.g.Output = []*onnxpb.ValueInfoProto{valueInfo("logits", []any{"batch", m.Classes})}
	return &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion),
		ProducerName:    proto.String("dst"),
		ProducerVersion: proto.String("0"),
		ModelVersion:    proto.Int64(1),
		DocString:       proto.String("exported by dst from model " + m.Name),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:           e.g,
	}, nil
}

// WriteFile exports m to path atomically (temporary file, sync, rename).
func WriteFile(path string, m *nn.Model) (err error) {
	mp, err := Export(m)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		return fmt.Errorf("onnx: encode %s: %w", m.Name, err)
	}
	if err := atomicfile.WriteFile(path, b); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

type exporter struct {
	g    *onnxpb.GraphProto
	seen map[string]bool
}

// module emits the nodes of mod reading value x and returns the name of its output.
func (e *exporter) module(mod nn.Module, x string) (string, error) {
	switch l := mod.(type) {
	case *nn.Sequential:
		var err error
		for _, c := range l.Children() {
			if x, err = e.module(c, x); err != nil {
				return "", err
			}
		}
		return x, nil
	case *nn.Conv2d:
		info := l.Info()
		ins := []string{x, e.param(l.Weight)}
		if l.Bias != nil {
			ins = append(ins, e.param(l.Bias))
		}
		y := info.Name
		n := e.node("Conv", info.Name, ins, []string{y})
		n.Attribute = []*onnxpb.AttributeProto{
			intsAttr("kernel_shape", info.Kernel[0], info.Kernel[1]),
			intsAttr("strides", info.Stride[0], info.Stride[1]),
			intsAttr("pads", info.Padding[0], info.Padding[1], info.Padding[0], info.Padding[1]),
		}
		return y, nil
	case *nn.Linear:
		info := l.Info()
		ins := []string{x, e.param(l.Weight)}
		if l.Bias != nil {
			ins = append(ins, e.param(l.Bias))
		}
		y := info.Name
		n := e.node("Gemm", info.Name, ins, []string{y})
		n.Attribute = []*onnxpb.AttributeProto{intAttr("transB", 1)}
		return y, nil
	case *nn.BatchNorm2d:
		info := l.Info()
		y := info.Name
		n := e.node("BatchNormalization", info.Name,
			[]string{x, e.param(l.Weight), e.param(l.Bias), e.buffer(l.RunningMean), e.buffer(l.RunningVar)}, []string{y})
		n.Attribute = []*onnxpb.AttributeProto{floatAttr("epsilon", 1e-5)}
		return y, nil
	case *nn.ReLU:
		y := l.Info().Name
		e.node("Relu", y, []string{x}, []string{y})
		return y, nil
	case *nn.MaxPool2d, *nn.AvgPool2d:
		info := mod.Info()
		op := "MaxPool"
		if info.Type == "AvgPool2d" {
			op = "AveragePool"
		}
		y := info.Name
		n := e.node(op, info.Name, []string{x}, []string{y})
		n.Attribute = []*onnxpb.AttributeProto{
			intsAttr("kernel_shape", info.Kernel[0], info.Kernel[1]),
			intsAttr("strides", info.Stride[0], info.Stride[1]),
			intsAttr("pads", info.Padding[0], info.Padding[1], info.Padding[0], info.Padding[1]),
		}
		if op == "AveragePool" {
			n.Attribute = append(n.Attribute, intAttr("count_include_pad", 1))
		}
		return y, nil
	case *nn.Flatten:
		y := l.Info().Name
		n := e.node("Flatten", y, []string{x}, []string{y})
		n.Attribute = []*onnxpb.AttributeProto{intAttr("axis", 1)}
		return y, nil
	case *nn.Dropout:
		return x, nil
	case *nn.BasicBlock:
		h := x
		var err error
		for _, c := range []nn.Module{l.Conv1, l.BN1, l.Relu1, l.Conv2, l.BN2} {
			if h, err = e.module(c, h); err != nil {
				return "", err
			}
		}
		res := x
		if l.Downsample != nil {
			if res, err = e.module(l.Downsample, x); err != nil {
				return "", err
			}
		}
		name := l.Info().Name
		sum := name + ".add"
		e.node("Add", sum, []string{h, res}, []string{sum})
		return e.module(l.Relu2, sum)
	}
	info := mod.Info()
	return "", fmt.Errorf("onnx: cannot export layer %s of type %s", info.Name, info.Type)
}

func (e *exporter) node(op, name string, in, out []string) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out}
	e.g.Node = append(e.g.Node, n)
	return n
}

func (e *exporter) param(p *nn.Param) string {
	return e.initializer(p.Name, p.Shape(), p.Data())
}

func (e *exporter) buffer(b *nn.Buffer) string {
	return e.initializer(b.Name, b.Value.Shape(), b.Value.Data().([]float32))
}

func (e *exporter) initializer(name string, shape []int, v []float32) string {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	if !e.seen[name] {
		e.seen[name] = true
		dims := make([]int64, len(shape))
		for i, d := range shape {
			dims[i] = int64(d)
		}
		e.g.Initializer = append(e.g.Initializer, &onnxpb.TensorProto{
			Name:      proto.String(name),
			Dims:      dims,
			DataType:  proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			FloatData: append([]float32(nil), v...),
		})
	}
	return name
}

// valueInfo describes a float tensor; each dimension is an int or a symbolic name.
func valueInfo(name string, dims []any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    shape,
		}}},
	}
}

func intsAny(s []int) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func intAttr(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func intsAttr(name string, vs ...int) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum()}
	for _, v := range vs {
		a.Ints = append(a.Ints, int64(v))
	}
	return a
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
