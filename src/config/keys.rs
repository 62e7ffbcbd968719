//! Unknown keys: the parsed TOML document walked against the keys `raw`'s structures accept,
//! before anything is deserialised, so every misspelt key of the file is reported in one run.
//!
//! Owns: the shape of the file (which table holds which structure), the keys of each structure
//! as its serde derive declares them (never a second list kept by hand), the "did you mean"
//! for a near key, and finding the key a value error is about. Must not: judge values (serde
//! and `validate` do).

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml_edit::{Item, Table, TableLike, Value};

use super::Location;
use super::raw::{
    RawAdmin, RawBalance, RawCheck, RawCluster, RawConfig, RawCookies, RawDatacenter, RawDnstap,
    RawEndpoint, RawGeoip, RawRrl, RawServer, RawZones,
};

/// An unknown key: where its name starts (byte offset) and what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unknown {
    /// Byte offset of the key in the file.
    pub(super) offset: usize,
    /// `unknown key "x" in [section]`, with a near key when there is one.
    pub(super) message: String,
}

/// Every key of `doc` that no structure of the file accepts where it stands, in file order.
pub(super) fn unknown(doc: &Table) -> Vec<Unknown> {
    let mut w = Walk { found: Vec::new() };
    w.table(doc, keys::<RawConfig>(), "at the top level");
    for (section, known) in [
        ("server", keys::<RawServer>()),
        ("admin", keys::<RawAdmin>()),
        ("zones", keys::<RawZones>()),
        ("geoip", keys::<RawGeoip>()),
        ("rrl", keys::<RawRrl>()),
        ("cookies", keys::<RawCookies>()),
        ("dnstap", keys::<RawDnstap>()),
        ("cluster", keys::<RawCluster>()),
    ] {
        if let Some(t) = doc.get(section).and_then(Item::as_table_like) {
            w.table(t, known, &format!("in [{section}]"));
        }
    }
    if let Some(checks) = doc.get("checks").and_then(Item::as_table_like) {
        let known = keys::<RawCheck>();
        for (name, c) in checks.iter() {
            if let Some(c) = c.as_table_like() {
                w.table(c, known, &format!("in [checks.{name}]"));
            }
        }
    }
    if let Some(dcs) = doc.get("datacenters").and_then(Item::as_table_like) {
        let (known, location) = (keys::<RawDatacenter>(), keys::<Location>());
        for (name, d) in dcs.iter() {
            let Some(d) = d.as_table_like() else { continue };
            w.table(d, known, &format!("in [datacenters.{name}]"));
            if let Some(l) = d.get("location").and_then(Item::as_table_like) {
                w.table(
                    l,
                    location,
                    &format!("in the location of [datacenters.{name}]"),
                );
            }
        }
    }
    if let Some(balances) = doc.get("balance") {
        let (known, endpoint) = (keys::<RawBalance>(), keys::<RawEndpoint>());
        for b in tables(balances) {
            w.table(b, known, "in [[balance]]");
            for e in b.get("endpoints").into_iter().flat_map(tables) {
                w.table(e, endpoint, "in an endpoint of [[balance]]");
            }
        }
    }
    w.found.sort_by_key(|u| u.offset);
    w.found
}

struct Walk {
    found: Vec<Unknown>,
}

impl Walk {
    /// Reports the keys of `t` not in `known`; `place` says where, for the message.
    fn table(&mut self, t: &dyn TableLike, known: &[&str], place: &str) {
        for (key, _) in t.iter() {
            if known.contains(&key) {
                continue;
            }
            let offset = t
                .get_key_value(key)
                .and_then(|(k, _)| k.span())
                .map_or(0, |s| s.start);
            let message = match near(key, known) {
                Some(k) => format!("unknown key {key:?} {place}; did you mean {k:?}?"),
                None => format!("unknown key {key:?} {place} (known: {})", known.join(", ")),
            };
            self.found.push(Unknown { offset, message });
        }
    }
}

/// The tables of an array of tables, written `[[x]]` or `x = [{ … }, …]`; anything else holds
/// none (serde reports the wrong type).
fn tables(item: &Item) -> Box<dyn Iterator<Item = &dyn TableLike> + '_> {
    match item {
        Item::ArrayOfTables(a) => Box::new(a.iter().map(|t| t as &dyn TableLike)),
        Item::Value(Value::Array(a)) => Box::new(
            a.iter()
                .filter_map(Value::as_inline_table)
                .map(|t| t as &dyn TableLike),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

/// The known key `key` was probably meant to be: the same but for case and `-`/`_`, else the
/// nearest within an edit distance of a third of its length (at least 1).
fn near<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let key_n = norm(key);
    if let Some(k) = known.iter().find(|k| norm(k) == key_n) {
        return Some(k);
    }
    let limit = (key.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(&key_n, k), *k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The key whose value starts at byte `offset`, for a value serde rejected: what the
/// operator wrote before `=`. Tables are searched in; a table's own header is not a value.
pub(super) fn key_of_value(doc: &Table, offset: usize) -> Option<String> {
    fn search(t: &dyn TableLike, offset: usize) -> Option<String> {
        for (key, item) in t.iter() {
            if let Some(v) = item.as_value()
                && v.span().is_some_and(|s| s.start == offset)
            {
                return Some(key.to_string());
            }
            if let Some(found) = within(item, offset) {
                return Some(found);
            }
        }
        None
    }
    fn within(item: &Item, offset: usize) -> Option<String> {
        match item {
            Item::Table(t) => search(t, offset),
            Item::ArrayOfTables(a) => a.iter().find_map(|t| search(t, offset)),
            Item::Value(v) => value_within(v, offset),
            Item::None => None,
        }
    }
    fn value_within(v: &Value, offset: usize) -> Option<String> {
        // Only values whose span holds the offset can hold the key.
        if !v.span().is_some_and(|s| s.contains(&offset)) {
            return None;
        }
        match v {
            Value::InlineTable(t) => search(t, offset),
            Value::Array(a) => a.iter().find_map(|v| value_within(v, offset)),
            _ => None,
        }
    }
    search(doc, offset)
}

/// The keys `T` accepts: its serde derive hands them to `deserialize_struct`, where this
/// deserializer, which reads nothing, catches them.
fn keys<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The probe always fails: it only wants the field list.
    let _ = T::deserialize(KeyProbe(&mut fields));
    fields
}

struct KeyProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for KeyProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a structure"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("keys taken"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown_in(text: &str) -> Vec<(usize, String)> {
        let doc = toml_edit::ImDocument::parse(text).unwrap();
        unknown(doc.as_table())
            .into_iter()
            .map(|u| (u.offset, u.message))
            .collect()
    }

    #[test]
    fn keys_come_from_the_serde_derive() {
        assert_eq!(keys::<RawZones>(), &["directory"]);
        assert_eq!(keys::<Location>(), &["lat", "lon"]);
        assert!(keys::<RawConfig>().contains(&"balance"));
        assert!(keys::<RawCheck>().contains(&"load_header"));
    }

    #[test]
    fn every_unknown_key_in_every_kind_of_table_is_found() {
        let text = r#"colour = 1
[server]
thread = 2
[admin]
listen = "127.0.0.1:0"
tokenfile = "t"
[zones]
directory = "z"
[geoip]
db = "x"
[rrl]
slipp = 2
[cookies]
secret = "x"
[checks.web]
protocol = "http"
intervall = "1s"
[datacenters.a]
location = { lat = 1.0, lon = 2.0, alt = 3 }
network = []
[[balance]]
name = "a.example"
plicy = "all"
endpoints = [{ address = "192.0.2.1", datacenter = "a", wieght = 2 }]
[[balance]]
name = "b.example"
when-all-down = "none"
[[balance.endpoints]]
adress = "192.0.2.2"
"#;
        let found = unknown_in(text);
        let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                r#"unknown key "colour" at the top level (known: server, admin, zones, checks, datacenters, balance, geoip, rrl, cookies, dnstap, cluster)"#,
                r#"unknown key "thread" in [server]; did you mean "threads"?"#,
                r#"unknown key "tokenfile" in [admin]; did you mean "token_file"?"#,
                r#"unknown key "db" in [geoip] (known: database)"#,
                r#"unknown key "slipp" in [rrl]; did you mean "slip"?"#,
                r#"unknown key "secret" in [cookies] (known: enabled, secret_file, require)"#,
                r#"unknown key "intervall" in [checks.web]; did you mean "interval"?"#,
                r#"unknown key "alt" in the location of [datacenters.a] (known: lat, lon)"#,
                r#"unknown key "network" in [datacenters.a]; did you mean "networks"?"#,
                r#"unknown key "plicy" in [[balance]]; did you mean "policy"?"#,
                r#"unknown key "wieght" in an endpoint of [[balance]]; did you mean "weight"?"#,
                r#"unknown key "when-all-down" in [[balance]]; did you mean "when_all_down"?"#,
                r#"unknown key "adress" in an endpoint of [[balance]]; did you mean "address"?"#,
            ]
        );
        // Each offset is where the key's name starts.
        for (offset, m) in &found {
            let key = m.split('"').nth(1).unwrap();
            assert!(text[*offset..].starts_with(key), "{m} at {offset}");
        }
    }

    #[test]
    fn a_file_of_known_keys_has_none_unknown() {
        let text = r#"[zones]
directory = "z"
[checks.web]
protocol = "http"
[datacenters.a]
location = { lat = 1.0, lon = 2.0 }
[[balance]]
name = "a.example"
policy = "all"
endpoints = [{ address = "192.0.2.1", datacenter = "a" }]
"#;
        assert_eq!(unknown_in(text), []);
    }

    #[test]
    fn near_keys() {
        let known = ["interval", "timeout", "rise", "fall", "load_header"];
        assert_eq!(near("intervl", &known), Some("interval"));
        assert_eq!(near("Load-Header", &known), Some("load_header"));
        assert_eq!(near("rice", &known), Some("rise"));
        assert_eq!(near("colour", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn the_key_of_a_rejected_value_is_found_by_its_position() {
        let text = "[checks.web]\ninterval = 1\n[[balance]]\nendpoints = [{ weight = \"x\" }]\n";
        let doc = toml_edit::ImDocument::parse(text).unwrap();
        let at = |s: &str| text.find(s).unwrap();
        assert_eq!(
            key_of_value(doc.as_table(), at("1\n")).as_deref(),
            Some("interval")
        );
        assert_eq!(
            key_of_value(doc.as_table(), at("\"x\"")).as_deref(),
            Some("weight")
        );
        assert_eq!(key_of_value(doc.as_table(), 0), None);
    }
}
