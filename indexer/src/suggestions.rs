//! The suggestion dictionary behind instant suggestions: the values of the index's `suggest` TEXT field,
//! kept in step with the documents.
//!
//! Several documents may share a value (two papers with one title), so a hash counts the documents per
//! value and a value leaves the dictionary only when its last document does. The update for one
//! document runs as a Lua script inside the batch's MULTI/EXEC, before the document's hash is replaced,
//! so it reads the value being replaced and the whole batch stays atomic.
//!
//! The dictionary and the counts hold normalized text, not the stored field value. Each run of control
//! characters and whitespace becomes one space and the ends are trimmed. FT.SUGADD in RediSearch 2.10
//! ends a suggestion at a NUL byte, so the NUL becoming a space keeps the rest of the title. The script
//! normalizes the value being replaced and the new value with the same Lua function, so every count
//! that a write raises is lowered again by the replacement or delete.

use docsearch_runtime::keys::KeyLayout;

/// RediSearch 2.10 accepts suggestions of up to 255 characters and silently drops longer ones.
pub const MAX_SUGGESTION_CHARS: usize = 255;

/// KEYS: document hash, reference counts, dictionary.
/// ARGV: suggest field, new field value ("" when none or when deleting), document id, maximum
/// suggestion length in characters.
///
/// `normalize` turns C0 and C1 control characters and the characters that Rust's `char::is_whitespace`
/// accepts (Unicode White_Space) into spaces, collapses runs of spaces and trims both ends. The
/// patterns work on UTF-8 bytes because Redis runs Lua 5.1, which has no UTF-8 support.
const UPDATE_SCRIPT: &str = r"
local function normalize(text)
  if not text then
    return ''
  end
  text = string.gsub(text, '[%z\1-\32\127]', ' ')
  text = string.gsub(text, '\194[\128-\160]', ' ')
  text = string.gsub(text, '\225\154\128', ' ')
  text = string.gsub(text, '\226\128[\128-\138\168\169\175]', ' ')
  text = string.gsub(text, '\226\129\159', ' ')
  text = string.gsub(text, '\227\128\128', ' ')
  text = string.gsub(text, ' +', ' ')
  return (string.gsub(text, '^ ?(.-) ?$', '%1'))
end

local function char_count(text)
  local _, num_continuation_bytes = string.gsub(text, '[\128-\191]', '')
  return #text - num_continuation_bytes
end

local old = normalize(redis.call('HGET', KEYS[1], ARGV[1]))
local new = normalize(ARGV[2])
if old == new then
  return 0
end
if old ~= '' then
  local remaining = redis.call('HINCRBY', KEYS[2], old, -1)
  if remaining <= 0 then
    redis.call('HDEL', KEYS[2], old)
    redis.call('FT.SUGDEL', KEYS[3], old)
  end
end
if new ~= '' then
  redis.call('HINCRBY', KEYS[2], new, 1)
  if char_count(new) <= tonumber(ARGV[4]) then
    redis.call('FT.SUGADD', KEYS[3], new, 1, 'PAYLOAD', ARGV[3])
  end
end
return 1
";

/// Queues, in `pipeline`, the dictionary update for one document whose `field` changes to `new_value`
/// (`None` when the document is deleted or lacks the field). It must precede the commands that replace
/// or delete the document's hash. `new_value` is the raw field value, which the script normalizes.
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
    pipeline
        .cmd("EVAL")
        .arg(UPDATE_SCRIPT)
        .arg(3)
        .arg(layout.document_key(index, document_id))
        .arg(layout.suggestion_refs(index))
        .arg(layout.suggestions(index))
        .arg(field)
        .arg(new_value.unwrap_or_default())
        .arg(document_id)
        .arg(MAX_SUGGESTION_CHARS)
        .ignore();
}
