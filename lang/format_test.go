package lang_test

import (
	"testing"

	"github.com/dst-dev/dst/lang"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"spacing", "prune   conv*   level 0.7   from epoch 2  every 2",
			"prune conv* level 0.7 from epoch 2 every 2\n"},
		{"operators", "let x=1+2*(3-1)/ 4\nlet r=5%->90%",
			"let x = 1 + 2 * (3 - 1) / 4\nlet r = 5% -> 90%\n"},
		{"named args", "quantize * linear 8 bits clip = laplace  mode=asym_u after training",
			"quantize * linear 8 bits clip=laplace mode=asym_u after training\n"},
		{"lists", "lr multistep 0.1 at epochs [ 30,60 , ]\nprune [conv1,fc1]  except  [ fc1 ] level 0.5 at epoch 0",
			"lr multistep 0.1 at epochs [30, 60]\nprune [conv1, fc1] except [fc1] level 0.5 at epoch 0\n"},
		{"multi-line list joined", "lr multistep 0.1 at epochs [\n  30,\n  60,\n]\n",
			"lr multistep 0.1 at epochs [30, 60]\n"},
		{"blank lines collapsed and trimmed", "\n\n# a\n\n\n\nlet a = 1\nlet b = 2\n\n\n",
			"# a\n\nlet a = 1\nlet b = 2\n"},
		{"trailing comments", "let a = 1   # one\nprune fc1 level a at epoch 0#two",
			"let a = 1 # one\nprune fc1 level a at epoch 0 #two\n"},
		{"comment inside multi-line list hoisted", "lr multistep 0.1 at epochs [\n  30, # first\n  60,\n]\n",
			"# first\nlr multistep 0.1 at epochs [30, 60]\n"},
		{"override block", "quantize * linear 8 bits after training {\n# keep fp\noverride fc2 float # classifier\n  override [conv1] 16 bits\n  # end\n} # done\n",
			"quantize * linear 8 bits after training {\n    # keep fp\n    override fc2 float # classifier\n    override [conv1] 16 bits\n    # end\n} # done\n"},
		{"block on one line", "quantize * qat 4 bits {override fc2 8 bits}",
			"quantize * qat 4 bits {\n    override fc2 8 bits\n}\n"},
		{"clause order kept", "prune conv2 at epoch 3 filters 40%   by l1",
			"prune conv2 at epoch 3 filters 40% by l1\n"},
		{"crlf", "let a = 1\r\nlet b = 2\r\n", "let a = 1\nlet b = 2\n"},
		{"distill and thin", `distill   from  "t.safetensors"  temperature 4` + "\nthin   after training",
			"distill from \"t.safetensors\" temperature 4\nthin after training\n"},
		{"regex and unary", `prune /fc[0-9]\.weight/ threshold x=-1 at epoch 0`,
			"prune /fc[0-9]\\.weight/ threshold x=-1 at epoch 0\n"},
		{"empty", "", ""},
		{"only comments", "# a\n#b\n", "# a\n#b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := lang.Format("t.dst", []byte(tt.src))
			if diags.HasErrors() {
				t.Fatalf("Format: %v", diags)
			}
			if string(got) != tt.want {
				t.Errorf("Format:\n got %q\nwant %q", got, tt.want)
			}
			checkFormatRoundTrip(t, tt.src)
		})
	}
}

func TestFormatRefusesSyntaxErrors(t *testing.T) {
	out, diags := lang.Format("t.dst", []byte("let a = 1\nprune\n"))
	if out != nil || !diags.HasErrors() {
		t.Fatalf("Format of a bad file = %q, %v; want nil and errors", out, diags)
	}
}
