// Parse Slippi replays with slippi-js (Slippi's own JavaScript library) and print, per file, what
// it reads and computes: settings, metadata, winners, frame range, and its stats (kills, damage,
// stocks, action counts). Used by tests/melee_envs/test_replay_writer.py.
const { SlippiGame } = require("@slippi/slippi-js/node");

const out = {};
for (const file of process.argv.slice(2)) {
  try {
    const game = new SlippiGame(file);
    const settings = game.getSettings();
    const stats = game.getStats();
    const meta = game.getMetadata();
    const frames = Object.keys(game.getFrames()).map(Number);
    out[file] = {
      stage: settings.stageId,
      version: settings.slpVersion,
      players: settings.players.map((p) => ({ index: p.playerIndex, character: p.characterId, stocks: p.startStocks, name: p.displayName })),
      lastFrame: meta.lastFrame,
      playedOn: meta.playedOn,
      winners: game.getWinners().map((w) => w.playerIndex),
      firstFrame: Math.min(...frames),
      frames: frames.length,
      kills: Object.fromEntries(stats.overall.map((o) => [o.playerIndex, o.killCount])),
      damage: Object.fromEntries(stats.overall.map((o) => [o.playerIndex, o.totalDamage])),
      stocksLost: Object.fromEntries(settings.players.map((p) => [p.playerIndex, stats.stocks.filter((s) => s.playerIndex === p.playerIndex && s.endFrame != null).length])),
      actions: Object.fromEntries(stats.actionCounts.map((a) => [a.playerIndex, a])),
      gameComplete: stats.gameComplete,
    };
  } catch (e) {
    out[file] = { error: String((e && e.stack) || e) };
  }
}
console.log(JSON.stringify(out));
