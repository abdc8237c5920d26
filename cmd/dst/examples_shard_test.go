package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// parseOnly parses args with dst's CLI without running the command.
func parseOnly(t *testing.T, args []string) *CLI {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, kong.Name("dst"), kong.Exit(func(int) { t.Fatalf("kong exited on %v", args) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(args); err != nil {
		t.Fatalf("dst %s: %v", strings.Join(args, " "), err)
	}
	return &cli
}

// exampleArgs replaces the example's checkpoint path by a real file (kong checks that it
// exists) and its variables by values.
func exampleArgs(t *testing.T, args []string, ckpt string, vars map[string]string) []string {
	t.Helper()
	var out []string
	for _, a := range args {
		for k, v := range vars {
			a = strings.ReplaceAll(a, k, v)
		}
		if strings.HasPrefix(a, "--checkpoint=") {
			a = "--checkpoint=" + ckpt
		}
		out = append(out, a)
	}
	return out
}

// TestShardExamples checks that the Kubernetes and Slurm examples run commands dst
// accepts, with as many shards as the batch system starts.
func TestShardExamples(t *testing.T) {
	ckpt := untrainedCheckpoint(t, "simplenet_mnist")
	t.Run("k8s", func(t *testing.T) {
		b, err := os.ReadFile("../../examples/k8s/sensitivity-job.yaml")
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		completions := regexp.MustCompile(`(?m)^\s*completions: (\d+)$`).FindStringSubmatch(src)
		if completions == nil || !strings.Contains(src, "completionMode: Indexed") {
			t.Fatal("not an Indexed Job with completions")
		}
		block := src[strings.Index(src, "args:"):strings.Index(src, "resources:")]
		var args []string
		for _, m := range regexp.MustCompile(`(?m)^\s*- (.+)$`).FindAllStringSubmatch(block, -1) {
			args = append(args, m[1])
		}
		cli := parseOnly(t, exampleArgs(t, args, ckpt, map[string]string{"$(JOB_COMPLETION_INDEX)": "3"}))
		if want := "3/" + completions[1]; cli.Sensitivity.Sweep.Shard != want {
			t.Errorf("--shard %q, want %q (completions %s)", cli.Sensitivity.Sweep.Shard, want, completions[1])
		}
		if _, _, err := parseShard(cli.Sensitivity.Sweep.Shard); err != nil {
			t.Error(err)
		}
		m, err := os.ReadFile("../../examples/k8s/merge-job.yaml")
		if err != nil {
			t.Fatal(err)
		}
		margs := regexp.MustCompile(`args: \[(.*)\]`).FindStringSubmatch(string(m))
		if margs == nil {
			t.Fatal("merge-job.yaml: no args")
		}
		cli = parseOnly(t, strings.Split(strings.ReplaceAll(margs[1], " ", ""), ","))
		if len(cli.Sensitivity.Merge.Parts) != 1 || !strings.HasSuffix(cli.Sensitivity.Merge.Parts[0], "/work/sense") {
			t.Errorf("merge parts %v", cli.Sensitivity.Merge.Parts)
		}
	})
	t.Run("slurm", func(t *testing.T) {
		b, err := os.ReadFile("../../examples/slurm/sensitivity.sbatch")
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		array := regexp.MustCompile(`(?m)^#SBATCH --array=0-(\d+)$`).FindStringSubmatch(src)
		if array == nil {
			t.Fatal("no #SBATCH --array=0-N")
		}
		line := src[strings.Index(src, "srun dst "):]
		line = strings.ReplaceAll(line, "\\\n", " ")
		line = line[len("srun dst "):strings.Index(line, "\n")]
		args := strings.Fields(strings.ReplaceAll(line, `"`, ""))
		for i := range args {
			if args[i] == "--checkpoint" {
				args[i+1] = ckpt
			}
		}
		n := array[1]
		tasks := map[string]string{"${SLURM_ARRAY_TASK_ID}": "5", "${SLURM_ARRAY_TASK_COUNT}": "8", "${SLURM_CPUS_PER_TASK}": "2", "$CKPT": ckpt, "$OUT": t.TempDir()}
		cli := parseOnly(t, exampleArgs(t, args, ckpt, tasks))
		if cli.Sensitivity.Sweep.Shard != "5/8" || n != "7" {
			t.Errorf("--shard %q with --array=0-%s", cli.Sensitivity.Sweep.Shard, n)
		}
	})
}
