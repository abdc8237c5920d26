#!/bin/bash
# Queues the 8 shards and, after all of them succeed, the merge.
#   CKPT=/path/checkpoint.safetensors OUT=/shared/sense ./submit.sh
set -euo pipefail
cd "$(dirname "$0")"
array=$(sbatch --parsable --export=ALL sensitivity.sbatch)
sbatch --dependency=afterok:"${array}" --export=ALL merge.sbatch
echo "shards: job ${array}; merge queued after it"
