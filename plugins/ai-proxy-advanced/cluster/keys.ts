/**
 * Redis layout of the shared balancer state (cluster/sync.ts). One plugin's keys share a hash tag (`{pk}`),
 * so a flush is one pipeline to one slot, in Redis Cluster as on a single server.
 *
 * - `aipa:v1:{pk}:holds` hash, written only through HOLDS_SCRIPT:
 *     `o:<target id>` circuit open until (epoch ms), `r:<target id>` Retry-After until (epoch ms), both only
 *     ever raised; `f:<target id>` "<failures>:<last failure ms>", failures counted cluster-wide within
 *     `fail_timeout` of the last one (nginx's max_fails window, circuit-breaker.ts).
 * - `aipa:v1:{pk}:nodes` hash, field = node id → JSON `{t, c, e}`: the node's heartbeat time, its in-flight
 *   requests per target (least-connections) and its EWMA per target ([ewma, touchedAt], lowest-latency and
 *   lowest-usage). Entries older than NODE_TTL_MS are ignored and removed: a dead node's connections expire.
 * - `aipa:v1:{pk}:rr` hash, target id → round-robin current weight shared by every node (RR_SCRIPT), and
 *   `#seq:<state id>` → "<batch number>:<applied ms>", the last round-robin batch applied from one node's state,
 *   so a batch sent twice counts once.
 * - `aipa:v1:plugins` set of the `pk`s, read once at start to restore state before the first pick (its own slot:
 *   it is only ever used by single-key commands, so it works in Redis Cluster too).
 * - channel `aipa:v1:events`: circuit openings and Retry-After holds, published the moment they happen.
 */
import { createHash } from 'node:crypto';

export const PLUGINS_SET = 'aipa:v1:plugins';
export const CHANNEL = 'aipa:v1:events';

/** A plugin state's key (its `__plugin_id`, or a long fingerprint for anonymous configs), hashed short. */
export function pluginKey(stateKey: string): string {
  return createHash('sha256').update(stateKey).digest('hex').slice(0, 24);
}

export function holdsKey(pk: string): string {
  return `aipa:v1:{${pk}}:holds`;
}

export function nodesKey(pk: string): string {
  return `aipa:v1:{${pk}}:nodes`;
}

/**
 * KEYS[1] holds hash; ARGV: now, fail window ms, key ttl ms, then (kind, target id, value) triples:
 * kind `f` adds `value` failures (restarting the count when the last one is older than the window), `o`/`r`
 * raise a hold to `value`. Returns the whole hash: the write and the refresh are one round trip.
 */
export const HOLDS_SCRIPT = `
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
for i = 4, #ARGV, 3 do
  local kind, tid, v = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if v ~= nil then
    local field = kind .. ':' .. tid
    if kind == 'f' then
      local cur = redis.call('HGET', KEYS[1], field)
      local n, last = 0, 0
      if cur then
        local c, l = string.match(cur, '^(%d+):(%d+)$')
        n = tonumber(c) or 0
        last = tonumber(l) or 0
      end
      if now - last >= win then n = 0 end
      redis.call('HSET', KEYS[1], field, string.format('%d:%d', n + v, now))
    elseif kind == 'o' or kind == 'r' then
      local cur = tonumber(redis.call('HGET', KEYS[1], field) or '0') or 0
      if v > cur then redis.call('HSET', KEYS[1], field, string.format('%d', v)) end
    end
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
`;

/** `aipa:v1:{pk}:rr` hash, target id → the cluster's current weight of smooth round robin (cluster/round-robin.ts). */
export function rrKey(pk: string): string {
  return `aipa:v1:{${pk}}:rr`;
}

/**
 * The rr hash field that holds the last batch number applied from one node's round-robin state (`stateId`, unique
 * per node and state) and when Redis applied it. It lives in the rr hash, not in a key of its own, so the two
 * are kept or evicted together: with a separate key, a Redis under `maxmemory` could evict the number alone and
 * then apply a resent batch twice. Target ids never start with `#` (balancer/targets.ts targetBaseId).
 */
export const RR_SEQ_FIELD = '#seq:';

/**
 * KEYS[1] rr hash; ARGV: bound, ttl ms, batch number (0: nothing to add, a refresh), the sending state's id,
 * then (target id, delta) pairs: adds the node's change to the cluster's current weights, each kept within ±bound
 * (a garbage or runaway value cannot starve a target for long), unless this batch was applied already (a reply
 * lost or timed out, or another command of the flush failed: the node sends the same batch again). The batch
 * number is kept in the hash (RR_SEQ_FIELD) with Redis's own time of its last send, and dropped `ttl` after it
 * (Redis's clock: nodes' clocks may disagree); the node gives a batch up after RR_BATCH_LIFETIME_MS from its first
 * send (sync.ts), which is shorter, so a batch is never resent to a Redis that has forgotten it. Returns the
 * target fields of the hash: the write and the refresh are one round trip. TIME is not deterministic: Redis 3.2–4
 * refuse writes after it unless the script asks for effects replication (replicate_commands, the default and a
 * no-op from Redis 5 on; Redis 7 keeps it, deprecated, as a no-op).
 */
export const RR_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local bound = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local seq = tonumber(ARGV[3]) or 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if seq > 0 then
  local field = '${RR_SEQ_FIELD}' .. ARGV[4]
  local last = tonumber(string.match(redis.call('HGET', KEYS[1], field) or '', '^(%d+):')) or 0
  if seq > last then
    for i = 5, #ARGV, 2 do
      local d = tonumber(ARGV[i + 1])
      if d ~= nil and d == math.floor(d) then
        local v = redis.call('HINCRBY', KEYS[1], ARGV[i], d)
        if v > bound then redis.call('HSET', KEYS[1], ARGV[i], bound)
        elseif v < -bound then redis.call('HSET', KEYS[1], ARGV[i], -bound) end
      end
    end
    last = seq
  end
  redis.call('HSET', KEYS[1], field, last .. ':' .. now)
end
redis.call('PEXPIRE', KEYS[1], ttl)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
local prefix = '${RR_SEQ_FIELD}'
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #prefix) == prefix then
    local at = tonumber(string.match(all[i + 1], ':(%d+)$')) or 0
    if at + ttl < now then redis.call('HDEL', KEYS[1], all[i]) end
  else
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
`;
