//! Helpers shared by the unit tests that build Redis commands or parse Redis replies.

use redis::Value;

/// Wraps a string as the bulk string Redis sends in replies.
pub fn bulk(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

/// Lists the arguments of a command as strings, with `<other>` for arguments that are not bytes.
pub fn words(command: &redis::Cmd) -> Vec<String> {
    command
        .args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "<other>".to_owned(),
        })
        .collect()
}
