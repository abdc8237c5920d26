package lang_test

import (
	"strings"
	"testing"

	"github.com/dst-dev/dst/lang"
)

func TestNewBuiltinsRejectsMalformedTables(t *testing.T) {
	ok := lang.Signature{Statement: "prune", Method: "m", Args: []lang.ArgSpec{{Name: "x", Type: lang.TypeFraction, Default: "0.5"}}}
	tests := []struct {
		name    string
		sigs    []lang.Signature
		wantErr string
	}{
		{"valid", []lang.Signature{ok}, ""},
		{"unknown statement", []lang.Signature{{Statement: "prunes", Method: "m"}}, "unknown statement"},
		{"no method", []lang.Signature{{Statement: "prune"}}, "no method name"},
		{"duplicate method", []lang.Signature{ok, ok}, "defined twice"},
		{"alias clash", []lang.Signature{ok, {Statement: "prune", Method: "n", Aliases: []string{"m"}}}, "defined twice"},
		{"two defaults", []lang.Signature{{Statement: "lr", Method: "a", Default: true}, {Statement: "lr", Method: "b", Default: true}}, "already has the default"},
		{"repeated argument", []lang.Signature{{Statement: "lr", Method: "a", Args: []lang.ArgSpec{{Name: "g"}, {Name: "g"}}}}, "empty or repeated"},
		{"enum without values", []lang.Signature{{Statement: "lr", Method: "a", Args: []lang.ArgSpec{{Name: "g", Type: lang.TypeEnum}}}}, "no values"},
		{"bad default", []lang.Signature{{Statement: "lr", Method: "a", Args: []lang.ArgSpec{{Name: "g", Type: lang.TypeFraction, Default: "1.5"}}}}, "outside [0, 1)"},
		{"bad enum default", []lang.Signature{{Statement: "lr", Method: "a", Args: []lang.ArgSpec{{Name: "g", Type: lang.TypeEnum, Enum: []string{"x"}, Default: "y"}}}}, "not one of x"},
		{"bad default window", []lang.Signature{{Statement: "lr", Method: "a", DefaultWindow: "whenever"}}, "default window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lang.NewBuiltins(tt.sigs...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHostBuiltins(t *testing.T) {
	b := lang.MustBuiltins(lang.Signature{
		Statement: "prune", Method: "mine", Default: true, DefaultWindow: "after training",
		Args: []lang.ArgSpec{{Name: "amount", Type: lang.TypeFraction, Positional: true, Required: true}},
	})
	prog, diags := lang.CheckSource("h.dst", []byte("prune fc1 30%\n"), lang.Env{Params: simplenetParams(), Builtins: b})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := prog.Policies[0]
	if p.Method != "mine" || p.Args["amount"].Num != 0.3 || p.Window.Kind != lang.WindowAfter {
		t.Errorf("policy = %+v", p)
	}
	if got := b.Methods("prune"); len(got) != 1 || got[0] != "mine" {
		t.Errorf("Methods = %v", got)
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    lang.Value
		want string
	}{
		{lang.Value{Type: lang.TypeFraction, Num: 0.7}, "0.7"},
		{lang.Value{Type: lang.TypeFractionRange, From: 0.05, To: 0.9}, "0.05 -> 0.9"},
		{lang.Value{Type: lang.TypeBits, Num: 8}, "8 bits"},
		{lang.Value{Type: lang.TypeString, Str: `a"b`}, `"a\"b"`},
		{lang.Value{Type: lang.TypeEnum, Str: "sym"}, "sym"},
		{lang.Value{Type: lang.TypeIntList, List: []float64{1, 8, 1, 1}}, "[1, 8, 1, 1]"},
		{lang.Value{Type: lang.TypeFlag, Bool: true}, "true"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%v.String() = %q, want %q", tt.v.Type, got, tt.want)
		}
	}
}
