package stdlib

import (
	"testing"
)

func TestSignaturesCoverCatalog(t *testing.T) {
	b := Signatures()
	want := map[string][]string{
		"prune":      {"threshold", "magnitude", "sensitivity", "level", "agp", "rnn", "splicing", "random", "bernoulli"},
		"regularize": {"l1", "l2", "group_lasso", "group_variance"},
		"quantize":   {"linear", "dorefa", "pact", "wrpn", "qat"},
		"lr":         {"step", "multistep", "exponential", "cosine", "warmup", "poly", "plateau"},
		"distill":    {"kd"},
		"thin":       {"contract", "filters", "channels"},
	}
	for stmt, methods := range want {
		for _, m := range methods {
			t.Run(stmt+"/"+m, func(t *testing.T) {
				s := b.Lookup(stmt, m)
				if s == nil {
					t.Fatalf("no signature for %s %s", stmt, m)
				}
				if len(s.Doc) < 40 {
					t.Errorf("%s %s: doc too short: %q", stmt, m, s.Doc)
				}
				for _, a := range s.Args {
					if a.Doc == "" {
						t.Errorf("%s %s: argument %s has no doc", stmt, m, a.Name)
					}
				}
			})
		}
	}
}

func TestSignaturesDefaults(t *testing.T) {
	b := Signatures()
	tests := []struct{ stmt, want string }{
		{"prune", "level"},
		{"quantize", "linear"},
		{"distill", "kd"},
		{"thin", "contract"},
		{"lr", ""},
		{"regularize", ""},
	}
	for _, tt := range tests {
		got := ""
		if d := b.DefaultMethod(tt.stmt); d != nil {
			got = d.Method
		}
		if got != tt.want {
			t.Errorf("default method of %s = %q, want %q", tt.stmt, got, tt.want)
		}
	}
}

func TestSignaturesFresh(t *testing.T) {
	a, b := Signatures(), Signatures()
	if a == b || a.Lookup("prune", "agp") == b.Lookup("prune", "agp") {
		t.Fatal("Signatures must build a fresh table on each call")
	}
}
