//! The suggestion dictionary behind instant suggestions: the values of the index's `suggest` TEXT field,
//! kept in step with the documents.
//!
//! Several documents may share a value (two papers with one title), so a hash counts the documents per
//! value and a value leaves the dictionary only when its last document does. The update for one
//! document runs as a Lua script inside the batch's MULTI/EXEC, before the document's hash is replaced,
//! so it reads the value being replaced and the whole batch stays atomic.

use docsearch_runtime::keys::KeyLayout;

/// RediSearch 2.10 accepts suggestions of up to 255 characters and silently drops longer ones.
pub const MAX_SUGGESTION_CHARS: usize = 255;

/// KEYS: document hash, reference counts, dictionary.
/// ARGV: suggest field, new value ("" when none or when deleting), document id, "1" when the new value
/// fits the dictionary.
const UPDATE_SCRIPT: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if old == new then
  return 0
end
if old and old ~= '' then
  local remaining = redis.call('HINCRBY', KEYS[2], old, -1)
  if remaining <= 0 then
    redis.call('HDEL', KEYS[2], old)
    redis.call('FT.SUGDEL', KEYS[3], old)
  end
end
if new ~= '' then
  redis.call('HINCRBY', KEYS[2], new, 1)
  if ARGV[4] == '1' then
    redis.call('FT.SUGADD', KEYS[3], new, 1, 'PAYLOAD', ARGV[3])
  end
end
return 1
";

/// Queues, in `pipeline`, the dictionary update for one document whose `field` changes to `new_value`
/// (`None` when the document is deleted or lacks the field). It must precede the commands that replace
/// or delete the document's hash.
// NOTE: when two documents share a value, the suggestion's payload names the document written last,
// and deleting that one leaves the payload naming a deleted document until the value is written again.
pub fn queue_update(
    pipeline: &mut redis::Pipeline,
    layout: &KeyLayout,
    index: &str,
    field: &str,
    document_id: &str,
    new_value: Option<&str>,
) {
    let new_value = new_value.map(str::trim).unwrap_or_default();
    let fits = new_value.chars().count() <= MAX_SUGGESTION_CHARS;
    pipeline
        .cmd("EVAL")
        .arg(UPDATE_SCRIPT)
        .arg(3)
        .arg(layout.document_key(index, document_id))
        .arg(layout.suggestion_refs(index))
        .arg(layout.suggestions(index))
        .arg(field)
        .arg(new_value)
        .arg(document_id)
        .arg(if fits { "1" } else { "0" })
        .ignore();
}
