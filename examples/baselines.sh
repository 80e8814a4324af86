#!/usr/bin/env bash
# The rows of docs/baselines.md that train for a wall-clock budget, one after another, each then
# measured by `exphil ladder` (200 seeded games against every bot). Run from the repository root:
#
#   bash examples/baselines.sh [MINUTES] [OUT] [ROW ...]
#
# MINUTES: training budget per row (default 10; the table has 10 and 60); OUT: where models,
# learning curves (JSON + PNG), logs and ladder results go (default runs/baselines-MINUTES);
# ROW: any of mlp gru attention bc bc-ppo controller league (default: all, in that order).
# Nothing else should run on the machine meanwhile: the budget is wall-clock time.
set -euo pipefail
MINUTES=${1:-10}
OUT=${2:-runs/baselines-$MINUTES}
shift $(( $# > 2 ? 2 : $# ))
ALL="mlp gru attention bc bc-ppo controller league"
ROWS=${*:-$ALL}
REPLAYS=${EXPHIL_REPLAYS_DIR:-../shared/replays}
LADDER="scripted+scripted+scripted:7+scripted:5+scripted:3+scripted:1+idle+jumper+random"
MANY=1000000000  # steps: the budget, not the step count, ends these runs
mkdir -p "$OUT"

ladder() {  # ladder NAME MODEL
  exphil ladder "$2" --out "$OUT/$1.ladder.json" > "$OUT/$1.ladder.log" 2>&1
}

for row in $ROWS; do
  echo "== $row ($MINUTES min) $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  case $row in
    mlp)  # the champion's recipe (stock MlpPolicy, a ladder of 9 bots in one batch of 256 games)
      exphil train --opponent "$LADDER" --timesteps $MANY --minutes "$MINUTES" --eval-episodes 0 \
        --save "$OUT/mlp.zip" --curve "$OUT/mlp.json" > "$OUT/mlp.log" 2>&1
      ladder mlp "$OUT/mlp.zip" ;;
    gru)  # RecurrentPPO carrying a 64-wide GRU's state, learned-id observations
      exphil train --opponent "$LADDER" --timesteps $MANY --minutes "$MINUTES" --eval-episodes 0 \
        --backbone gru --recurrent --hidden 64 --layers 1 --obs.action-mode learned \
        --save "$OUT/gru.zip" --curve "$OUT/gru.json" > "$OUT/gru.log" 2>&1
      ladder gru "$OUT/gru.zip" ;;
    attention)  # one attention layer (d_model 32) over the last 4 decisions' frames
      exphil train --opponent "$LADDER" --timesteps $MANY --minutes "$MINUTES" --eval-episodes 0 \
        --backbone attention --window 4 --hidden 32 --layers 1 --obs.action-mode learned \
        --save "$OUT/attention.zip" --curve "$OUT/attention.json" > "$OUT/attention.log" 2>&1
      ladder attention "$OUT/attention.zip" ;;
    bc)  # behavioural cloning on the shared replays (every character's frames), a 64-wide MLP;
         # the data, not the budget, limits it: 5,000 steps are 8 epochs (best validation kept)
      exphil bc train --data.replays "$REPLAYS" --data.cache "$OUT/bc-cache" --model.hidden 64 \
        --optim.steps 5000 --runtime.checkpoints "$OUT/bc" --runtime.name bc \
        --runtime.overwrite > "$OUT/bc.log" 2>&1
      ladder bc "$OUT/bc/bc/best" ;;
    bc-ppo)  # PPO warm-started from that BC network, the whole controller
      exphil train --opponent "$LADDER" --timesteps $MANY --minutes "$MINUTES" --eval-episodes 0 \
        --init-from "$OUT/bc/bc/best" --save "$OUT/bc-ppo.zip" --curve "$OUT/bc-ppo.json" > "$OUT/bc-ppo.log" 2>&1
      ladder bc-ppo "$OUT/bc-ppo.zip" ;;
    controller)  # bc-ppo's network and whole controller, from scratch: what the BC start adds
      exphil train --opponent "$LADDER" --timesteps $MANY --minutes "$MINUTES" --eval-episodes 0 \
        --backbone mlp --hidden 64 --layers 2 --action-mode multi_discrete \
        --save "$OUT/controller.zip" --curve "$OUT/controller.json" > "$OUT/controller.log" 2>&1
      ladder controller "$OUT/controller.zip" ;;
    league)  # self-play league (PFSP over its snapshots, 30% self-play, 30% against four bots)
      exphil league train --dir "$OUT/league" --games 256 --steps $MANY --minutes "$MINUTES" --seed 0 \
        --no-tensorboard > "$OUT/league.log" 2>&1
      ladder league "$OUT/league/learners/main-0.zip" ;;
    *) echo "unknown row '$row' (rows: $ALL)" >&2; exit 2 ;;
  esac
done
echo "== done $(date -u +%H:%M:%S)"
