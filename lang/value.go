package lang

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Value is an evaluated argument of a checked policy. Which fields are meaningful depends
// on Type:
//
//   - number, positive/non-negative number, integer, fraction, bits: Num (70% is 0.7);
//   - fraction range and number range: From and To;
//   - string, name (TypeIdent) and enum: Str;
//   - number list and integer list: List;
//   - flag: Bool.
//
// A Value is never modified after the checker returns it.
type Value struct {
	// Type is the argument type the value was checked against.
	Type ArgType
	// Num holds scalar values.
	Num float64
	// From and To hold the ends of a range `From -> To`.
	From, To float64
	// Str holds strings (unquoted), names and enum values.
	Str string
	// List holds list elements in order.
	List []float64
	// Bool holds a flag's state.
	Bool bool
}

// Int returns Num as an int (integers, bits).
func (v Value) Int() int { return int(v.Num) }

// String renders v in .dst syntax.
func (v Value) String() string {
	switch v.Type {
	case TypeFractionRange, TypeNumberRange:
		return formatNum(v.From) + " -> " + formatNum(v.To)
	case TypeString:
		return strconv.Quote(v.Str)
	case TypeIdent, TypeEnum:
		return v.Str
	case TypeNumberList, TypeIntList:
		parts := make([]string, len(v.List))
		for i, x := range v.List {
			parts[i] = formatNum(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case TypeFlag:
		return strconv.FormatBool(v.Bool)
	case TypeBits:
		return formatNum(v.Num) + " bits"
	}
	return formatNum(v.Num)
}

// formatNum prints x with 15 significant digits, which every decimal literal of up to 15
// digits survives and which hides the binary rounding of arithmetic (5% + 0.1 prints
// 0.15, not 0.15000000000000002).
func formatNum(x float64) string { return strconv.FormatFloat(x, 'g', 15, 64) }

// parseDefault converts a signature's Default text into a Value of the argument's type.
// Defaults are plain literals: a number (optionally with %), `a -> b`, a name, true/false,
// a quoted string or a bracketed list of numbers.
func parseDefault(a ArgSpec) (Value, error) {
	text := strings.TrimSpace(a.Default)
	v := Value{Type: a.Type}
	num := func(s string) (float64, error) {
		s = strings.TrimSpace(s)
		scale := 1.0
		if strings.HasSuffix(s, "%") {
			s, scale = s[:len(s)-1], 0.01
		}
		s = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(s, "bits")), " ")
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("not a number")
		}
		return x * scale, nil
	}
	switch a.Type {
	case TypeFractionRange, TypeNumberRange:
		from, to, ok := strings.Cut(text, "->")
		if !ok {
			return v, fmt.Errorf("want a range a -> b")
		}
		var err error
		if v.From, err = num(from); err != nil {
			return v, err
		}
		if v.To, err = num(to); err != nil {
			return v, err
		}
	case TypeString:
		s, err := strconv.Unquote(text)
		if err != nil {
			return v, fmt.Errorf("want a quoted string")
		}
		v.Str = s
	case TypeIdent:
		v.Str = text
	case TypeEnum:
		for _, e := range a.Enum {
			if e == text {
				v.Str = text
				return v, nil
			}
		}
		return v, fmt.Errorf("not one of %s", strings.Join(a.Enum, ", "))
	case TypeFlag:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return v, fmt.Errorf("want true or false")
		}
		v.Bool = b
	case TypeNumberList, TypeIntList:
		if !strings.HasPrefix(text, "[") || !strings.HasSuffix(text, "]") {
			return v, fmt.Errorf("want a list [a, b]")
		}
		inner := strings.TrimSpace(text[1 : len(text)-1])
		if inner != "" {
			for _, p := range strings.Split(inner, ",") {
				x, err := num(p)
				if err != nil {
					return v, err
				}
				v.List = append(v.List, x)
			}
		}
	default:
		x, err := num(text)
		if err != nil {
			return v, err
		}
		v.Num = x
	}
	if msg := checkValueRange(v); msg != "" {
		return v, fmt.Errorf("%s", msg)
	}
	return v, nil
}

// checkValueRange returns why v is out of its type's range, or "".
func checkValueRange(v Value) string {
	isInt := func(x float64) bool { return x == math.Trunc(x) }
	switch v.Type {
	case TypePositive:
		if !(v.Num > 0) {
			return fmt.Sprintf("%s is not a positive number", formatNum(v.Num))
		}
	case TypeNonNegative:
		if v.Num < 0 {
			return fmt.Sprintf("%s is negative", formatNum(v.Num))
		}
	case TypeInteger:
		if v.Num < 0 || !isInt(v.Num) {
			return fmt.Sprintf("%s is not a whole number >= 0", formatNum(v.Num))
		}
		if v.Num > math.MaxInt32 {
			return fmt.Sprintf("%s is too large", formatNum(v.Num))
		}
	case TypeFraction:
		if v.Num < 0 || v.Num >= 1 {
			return fmt.Sprintf("%s is outside [0, 1)", formatNum(v.Num))
		}
	case TypeFractionRange:
		if v.From < 0 || v.From >= 1 {
			return fmt.Sprintf("the start %s is outside [0, 1)", formatNum(v.From))
		}
		if v.To < 0 || v.To >= 1 {
			return fmt.Sprintf("the end %s is outside [0, 1)", formatNum(v.To))
		}
		if v.From >= v.To {
			return fmt.Sprintf("the start %s is not below the end %s", formatNum(v.From), formatNum(v.To))
		}
	case TypeBits:
		if v.Num < 1 || v.Num > 32 || !isInt(v.Num) {
			return fmt.Sprintf("%s is not a bit width in 1..32", formatNum(v.Num))
		}
	case TypeIntList:
		for _, x := range v.List {
			if x < 0 || !isInt(x) || x > math.MaxInt32 {
				return fmt.Sprintf("element %s is not a whole number >= 0", formatNum(x))
			}
		}
	}
	return ""
}
