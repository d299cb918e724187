--[[
  Compare-and-set of one control-plane record (an API definition, a stage, a domain; docs/versions.md).
  The write happens only if the record's current `version` is the one the caller read, so two operators
  changing the same record concurrently cannot silently overwrite each other: the second gets a conflict.
  A successful write also bumps the control-plane revision, appends the history entry, and announces the
  new revision to every edge, all in one step.

  Input (every key carries the {control} hash tag: one slot):
    KEYS[1] hash of records of one kind (field -> record JSON with a numeric `version`)
    KEYS[2] the control-plane revision (string counter)
    KEYS[3] the record's history list (newest first)

    ARGV[1] field
    ARGV[2] expected current version (0: the record must not exist)
    ARGV[3] the new record JSON (its version is ARGV[2] + 1), or '' to delete the record
    ARGV[4] history entry JSON, or '' for none
    ARGV[5] history entries kept
    ARGV[6] channel the new revision is published on

  Output: { 1, new revision } on success, { 0, current version } on a conflict
]]
local current = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if current then version = tonumber(cjson.decode(current).version) or 0 end
if version ~= tonumber(ARGV[2]) then return { 0, version } end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
end
local revision = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[6], revision)
return { 1, revision }
