//! Engine.IO v4 / Socket.IO v5 text packets, as they travel over a WebSocket.
//!
//! Decoding borrows from the frame and parses JSON lazily: the load generator must stay
//! much cheaper than the servers it measures, so hot paths only scan for the fields they
//! need ([`find_u64`], [`find_str`]).

use serde_json::Value;

/// One decoded text frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Engine.IO OPEN (`0{json}`), with its raw JSON.
    Open(&'a str),
    /// Engine.IO CLOSE (`1`).
    Close,
    /// Engine.IO PING (`2`); the client must answer PONG (`3`).
    Ping,
    /// Engine.IO PONG (`3`).
    Pong,
    /// Socket.IO CONNECT ack (`40{json}`), with its raw JSON.
    Connected(&'a str),
    /// Socket.IO DISCONNECT (`41`).
    Disconnected,
    /// Socket.IO EVENT (`42[<id>]["name",payload..]`).
    Event {
        /// Event name.
        name: &'a str,
        /// Ack id the server wants answered, if any.
        ack: Option<u64>,
        /// Raw JSON after the name: the payload arguments and the closing `]`.
        rest: &'a str,
    },
    /// Socket.IO ACK (`43<id>[args..]`).
    Ack {
        /// The ack id of the client's event.
        id: u64,
        /// Raw JSON array of the ack arguments.
        args: &'a str,
    },
    /// Socket.IO CONNECT_ERROR (`44{json}`).
    ConnectError(&'a str),
    /// Anything else (binary, upgrade, noop, other namespaces...).
    Other(&'a str),
}

/// Decodes one text frame.
pub fn decode(frame: &str) -> Packet<'_> {
    let bytes = frame.as_bytes();
    match bytes.first() {
        Some(b'0') => Packet::Open(&frame[1..]),
        Some(b'1') => Packet::Close,
        Some(b'2') => Packet::Ping,
        Some(b'3') => Packet::Pong,
        Some(b'4') => decode_socketio(frame, &frame[1..]),
        _ => Packet::Other(frame),
    }
}

fn decode_socketio<'a>(frame: &'a str, sio: &'a str) -> Packet<'a> {
    let Some(kind) = sio.as_bytes().first() else {
        return Packet::Other(frame);
    };
    let body = skip_namespace(&sio[1..]);
    match kind {
        b'0' => Packet::Connected(body),
        b'1' => Packet::Disconnected,
        b'2' => {
            let (ack, array) = split_ack_id(body);
            match split_event_name(array) {
                Some((name, rest)) => Packet::Event { name, ack, rest },
                None => Packet::Other(frame),
            }
        }
        b'3' => match split_ack_id(body) {
            (Some(id), args) => Packet::Ack { id, args },
            (None, _) => Packet::Other(frame),
        },
        b'4' => Packet::ConnectError(body),
        _ => Packet::Other(frame),
    }
}

/// Skips a `/namespace,` prefix (the default namespace `/` has none on the wire).
fn skip_namespace(s: &str) -> &str {
    if s.starts_with('/') {
        match s.find(',') {
            Some(i) => &s[i + 1..],
            None => "",
        }
    } else {
        s
    }
}

fn split_ack_id(s: &str) -> (Option<u64>, &str) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (None, s);
    }
    (s[..digits].parse().ok(), &s[digits..])
}

/// Splits `["name",rest` into the name and what follows it (event names carry no escapes).
fn split_event_name(array: &str) -> Option<(&str, &str)> {
    let inner = array.strip_prefix("[\"")?;
    let end = inner.find('"')?;
    let rest = inner[end + 1..]
        .strip_prefix(',')
        .unwrap_or(&inner[end + 1..]);
    Some((&inner[..end], rest))
}

/// Encodes the Socket.IO CONNECT packet for the default namespace with an auth object.
pub fn encode_connect(auth: &Value) -> String {
    format!("40{auth}")
}

/// Encodes an EVENT with one payload argument, optionally asking for an ack.
pub fn encode_event(name: &str, payload: &Value, ack: Option<u64>) -> String {
    match ack {
        Some(id) => format!("42{id}[\"{name}\",{payload}]"),
        None => format!("42[\"{name}\",{payload}]"),
    }
}

/// Engine.IO PONG, the answer to a server PING.
pub const PONG: &str = "3";

/// Finds `"key":<unsigned integer>` in raw JSON (first occurrence, any depth).
pub fn find_u64(raw: &str, key: &str) -> Option<u64> {
    let at = find_key(raw, key)?;
    let digits = raw[at..].bytes().take_while(u8::is_ascii_digit).count();
    raw[at..at + digits].parse().ok()
}

/// Finds `"key":"<string without escapes>"` in raw JSON (first occurrence, any depth).
pub fn find_str<'a>(raw: &'a str, key: &str) -> Option<&'a str> {
    let at = find_key(raw, key)?;
    let value = raw[at..].strip_prefix('"')?;
    let end = value.find('"')?;
    Some(&value[..end])
}

/// Byte offset just after `"key":` (and any spaces), if present.
fn find_key(raw: &str, key: &str) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(i) = raw[from..].find(&needle) {
        let after = from + i + needle.len();
        let tail = raw[after..].trim_start();
        if let Some(value) = tail.strip_prefix(':') {
            let value = value.trim_start();
            return Some(raw.len() - value.len());
        }
        from = after;
    }
    None
}

/// Whether an ack's arguments report failure: plugboard's `{ "ok": false, "error": .. }`
/// or a bare `{ "error": .. }`.
pub fn ack_is_error(args: &str) -> bool {
    match serde_json::from_str::<Value>(args) {
        Ok(Value::Array(items)) => items.first().is_some_and(|first| {
            first.get("ok") == Some(&Value::Bool(false))
                || first.get("error").is_some_and(|e| !e.is_null())
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_engine_packets() {
        assert_eq!(decode("0{\"sid\":\"a\"}"), Packet::Open("{\"sid\":\"a\"}"));
        assert_eq!(decode("2"), Packet::Ping);
        assert_eq!(decode("3"), Packet::Pong);
        assert_eq!(decode("1"), Packet::Close);
    }

    #[test]
    fn decodes_socketio_packets() {
        assert_eq!(
            decode("40{\"sid\":\"x\"}"),
            Packet::Connected("{\"sid\":\"x\"}")
        );
        assert_eq!(
            decode("44{\"message\":\"no\"}"),
            Packet::ConnectError("{\"message\":\"no\"}")
        );
        assert_eq!(decode("41"), Packet::Disconnected);
        assert_eq!(
            decode("42[\"health-pong\",{\"id\":\"1\"}]"),
            Packet::Event {
                name: "health-pong",
                ack: None,
                rest: "{\"id\":\"1\"}]"
            }
        );
        assert_eq!(
            decode("4217[\"x\",1]"),
            Packet::Event {
                name: "x",
                ack: Some(17),
                rest: "1]"
            }
        );
        assert_eq!(
            decode("43/admin,5[{\"ok\":true}]"),
            Packet::Ack {
                id: 5,
                args: "[{\"ok\":true}]"
            }
        );
        assert_eq!(
            decode("42[\"bare\"]"),
            Packet::Event {
                name: "bare",
                ack: None,
                rest: "]"
            }
        );
    }

    #[test]
    fn encodes_round_trip() {
        let ev = encode_event("health-ping", &json!({"id": "a"}), Some(3));
        assert_eq!(ev, "423[\"health-ping\",{\"id\":\"a\"}]");
        assert_eq!(
            decode(&ev),
            Packet::Event {
                name: "health-ping",
                ack: Some(3),
                rest: "{\"id\":\"a\"}]"
            }
        );
        assert_eq!(
            encode_connect(&json!({"userId": "u1"})),
            "40{\"userId\":\"u1\"}"
        );
    }

    #[test]
    fn finds_fields() {
        let raw = "{\"entityType\":\"client\",\"item\":{\"id\":\"i\",\"sentAtUs\": 1234}}]";
        assert_eq!(find_u64(raw, "sentAtUs"), Some(1234));
        assert_eq!(find_str(raw, "entityType"), Some("client"));
        assert_eq!(find_str(raw, "id"), Some("i"));
        assert_eq!(find_u64(raw, "missing"), None);
        // A key that appears as a value first is skipped.
        assert_eq!(find_str("{\"a\":\"id\",\"id\":\"z\"}", "id"), Some("z"));
    }

    #[test]
    fn detects_error_acks() {
        assert!(ack_is_error(
            "[{\"ok\":false,\"error\":{\"code\":\"not_found\"}}]"
        ));
        assert!(ack_is_error("[{\"error\":\"nope\"}]"));
        assert!(!ack_is_error(
            "[{\"ok\":true,\"room\":\"r\",\"subscribers\":1}]"
        ));
        assert!(!ack_is_error("[{\"ok\":true,\"error\":null}]"));
    }
}
