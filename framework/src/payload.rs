//! [`Payload`]: an event's data as it came off the wire (`["event", arg, ...]`), decoded
//! once, straight into the handler's type.
//!
//! Decoding into a `serde_json::Value` first and then into the handler's type cost about
//! 1,200 instructions per event (callgrind, `ping`). The result is the same: when the
//! direct decode fails, the payload goes the old way (the first argument as a `Value`,
//! `null` without one, then into the type), so defaults and error messages do not change.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use socketioxide::handler::Value as SioValue;
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;

use crate::HandlerError;

/// Longest `messageId` kept for replays.
const MAX_MESSAGE_ID: usize = 128;

/// An event's raw data.
pub(crate) struct Payload(SioValue);

impl Payload {
    pub(crate) fn new(data: SioValue) -> Self {
        Self(data)
    }

    /// The first argument as `T`; `invalid_payload` naming the field when it does not fit.
    pub(crate) fn decode<T: DeserializeOwned>(mut self) -> Result<T, HandlerError> {
        // With binary attachments the first attempt would take them; go the old way at once.
        if matches!(self.0, SioValue::Str(_, None))
            && let Ok(value) = CommonParser.decode_value::<T>(&mut self.0, true)
        {
            return Ok(value);
        }
        let value = CommonParser
            .decode_value::<Value>(&mut self.0, true)
            .unwrap_or(Value::Null);
        serde_json::from_value(value)
            .map_err(|e| HandlerError::invalid(format!("invalid payload: {e}")))
    }

    /// The non-empty `messageId` string (at most 128 bytes) of an object first argument.
    /// Data that does not mention `messageId` is not parsed for it (a key spelled with
    /// JSON escapes is therefore not seen).
    pub(crate) fn message_id(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(rename = "messageId", default)]
            message_id: Option<Value>,
        }
        // `str::contains` builds a two-way searcher per call (about 760 instructions per
        // event); one prebuilt finder is a few dozen.
        static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("messageId"));
        let raw: &str = self.0.as_str()?;
        FINDER.find(raw.as_bytes())?;
        let mut data = self.0.clone();
        let probe: Probe = CommonParser.decode_value(&mut data, true).ok()?;
        match probe.message_id? {
            Value::String(id) if !id.is_empty() && id.len() <= MAX_MESSAGE_ID => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    fn payload(data: &str) -> Payload {
        Payload::new(SioValue::Str(data.to_owned().into(), None))
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Ping {
        id: String,
        #[serde(default)]
        n: u32,
    }

    #[test]
    fn the_first_argument_decodes_straight_into_the_type() {
        let p = payload(r#"["ping",{"id":"a","n":2},"ignored"]"#);
        assert_eq!(
            p.decode::<Ping>().ok(),
            Some(Ping {
                id: "a".into(),
                n: 2
            })
        );
        let v = payload(r#"["ping",{"id":"a"}]"#).decode::<Value>().ok();
        assert_eq!(v, Some(json!({ "id": "a" })));
    }

    #[test]
    fn a_missing_argument_is_null_as_before() {
        assert_eq!(
            payload(r#"["ping"]"#).decode::<Value>().ok(),
            Some(Value::Null)
        );
        assert_eq!(
            payload(r#"["ping"]"#).decode::<Option<Ping>>().ok(),
            Some(None)
        );
    }

    #[test]
    fn a_payload_that_does_not_fit_names_the_field() {
        let e = payload(r#"["ping",{"n":1}]"#).decode::<Ping>().unwrap_err();
        assert_eq!(e.message, "invalid payload: missing field `id`");
        let e = payload(r#"["ping",{"id":5}]"#)
            .decode::<Ping>()
            .unwrap_err();
        assert!(
            e.message
                .starts_with("invalid payload: invalid type: integer `5`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn message_ids_are_read_from_object_payloads_only() {
        let id = |data: &str| payload(data).message_id();
        assert_eq!(id(r#"["e",{"messageId":"m1","x":1}]"#), Some("m1".into()));
        assert_eq!(id(r#"["e",{"x":1}]"#), None);
        assert_eq!(id(r#"["e","messageId"]"#), None);
        assert_eq!(id(r#"["e",{"messageId":""}]"#), None);
        assert_eq!(id(r#"["e",{"messageId":7}]"#), None);
        let long = format!(r#"["e",{{"messageId":"{}"}}]"#, "x".repeat(129));
        assert_eq!(id(&long), None);
    }
}
