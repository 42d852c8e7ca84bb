//! `GET /openapi.json` and `GET /docs`: the description of the surface and
//! a reference page generated from it, both rendered once at start-up.
//!
//! The page needs nothing from elsewhere (no script, no font, no CDN): the
//! operations grouped by tag, each with its parameters, body example and
//! answer, then every object's attributes with their types.

use std::{collections::BTreeMap, fmt::Write as _};

use axum::{
    body::Bytes,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use paymesh_kit::markup::escape;
use serde_json::Value;

/// What the two routes answer, shared by every request (not copied).
#[derive(Debug)]
pub(crate) struct Served {
    spec: Bytes,
    page: Bytes,
}

impl Served {
    /// Renders `spec` and its page.
    pub(crate) fn new(spec: &Value) -> Self {
        Self { spec: Bytes::from(spec.to_string()), page: Bytes::from(page(spec)) }
    }

    /// `GET /openapi.json`.
    pub(crate) fn spec(&self) -> Response {
        with_type(self.spec.clone(), "application/json")
    }

    /// `GET /docs`.
    pub(crate) fn page(&self) -> Response {
        with_type(self.page.clone(), "text/html; charset=utf-8")
    }
}

fn with_type(body: Bytes, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Inline `code` spans of a description, the rest escaped.
fn prose(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// A schema in a few words: `string`, `number | null`, a link to a named
/// object, `list of …`.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(choices) = schema.get("anyOf").and_then(Value::as_array) {
        return choices.iter().map(type_of).collect::<Vec<_>>().join(" or ");
    }
    if let Some(constant) = schema.get("const") {
        return format!("<code>{}</code>", escape(&constant.to_string()));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return "any".to_owned(),
    };
    types
        .iter()
        .map(|t| match *t {
            "array" => format!("list of {}", schema.get("items").map_or_else(|| "any".to_owned(), type_of)),
            "string" if schema.get("format").is_some_and(|f| f == "date-time") => "date-time".to_owned(),
            "string" if schema.get("enum").is_some() => {
                let words: Vec<String> = schema["enum"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|w| format!("<code>{}</code>", escape(w.as_str().unwrap_or_default())))
                    .collect();
                words.join(" | ")
            }
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The attributes of an object schema as table rows, nested ones dotted.
fn attribute_rows(out: &mut String, prefix: &str, schema: &Value, depth: usize) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    for (name, property) in properties {
        let _ = write!(
            out,
            "<tr><td><code>{}{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(prefix),
            escape(name),
            type_of(property),
            prose(property.get("description").and_then(Value::as_str).unwrap_or_default()),
        );
        if depth < 3 {
            attribute_rows(out, &format!("{prefix}{name}."), property, depth + 1);
            if let Some(items) = property.get("items") {
                attribute_rows(out, &format!("{prefix}{name}[]."), items, depth + 1);
            }
        }
    }
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;\
color:#1b1f24}h2{border-bottom:1px solid #ddd;margin-top:2.5em}h3{margin:1.6em 0 .3em}\
code,pre{font:13px ui-monospace,monospace;background:#f4f5f7;border-radius:4px}code{padding:1px 4px}\
pre{padding:.8em;overflow:auto}table{border-collapse:collapse;width:100%;margin:.4em 0}\
td,th{border-bottom:1px solid #eee;text-align:left;padding:4px 8px;vertical-align:top}\
.m{display:inline-block;min-width:4.5em;font-weight:600}.get{color:#0a7a3e}.post{color:#1f5fbf}\
.put{color:#9a5b00}.delete{color:#b3261e}nav a{margin-right:1em}";

/// The reference page of `spec`.
fn page(spec: &Value) -> String {
    let mut by_tag: BTreeMap<String, Vec<(String, String, &Value)>> = BTreeMap::new();
    for (path, operations) in spec["paths"].as_object().into_iter().flatten() {
        for (method, operation) in operations.as_object().into_iter().flatten() {
            let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
            by_tag.entry(tag).or_default().push((method.clone(), path.clone(), operation));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} API reference</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><style>{STYLE}</style></head><body>\
         <h1>{title} API reference <small>{version}</small></h1><p>{intro}</p>\
         <p>The same description, for tools: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI 3.1).</p><nav>",
        title = escape(spec["info"]["title"].as_str().unwrap_or_default()),
        version = escape(spec["info"]["version"].as_str().unwrap_or_default()),
        intro = prose(spec["info"]["description"].as_str().unwrap_or_default()),
    );
    for tag in by_tag.keys() {
        let _ = write!(out, "<a href=\"#tag-{0}\">{0}</a>", escape(tag));
    }
    out.push_str("<a href=\"#schemas\">objects</a></nav>");
    for (tag, operations) in &by_tag {
        let _ = write!(out, "<h2 id=\"tag-{0}\">{0}</h2>", escape(tag));
        for (method, path, operation) in operations {
            operation_html(&mut out, method, path, operation);
        }
    }
    out.push_str("<h2 id=\"schemas\">Objects</h2>");
    for (name, schema) in spec["components"]["schemas"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<h3 id=\"schema-{0}\">{0}</h3><table><tr><th>attribute</th><th>type</th><th></th></tr>",
            escape(name)
        );
        attribute_rows(&mut out, "", schema, 0);
        out.push_str("</table>");
    }
    out.push_str("</body></html>");
    out
}

fn operation_html(out: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        out,
        "<h3 id=\"{id}\"><span class=\"m {method}\">{upper}</span> <code>{path}</code></h3><p><b>{summary}</b>. {description}</p>",
        id = escape(operation["operationId"].as_str().unwrap_or_default()),
        upper = method.to_ascii_uppercase(),
        path = escape(path),
        summary = escape(operation["summary"].as_str().unwrap_or_default()),
        description = prose(operation["description"].as_str().unwrap_or_default()),
    );
    let parameters = operation["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
    if !parameters.is_empty() {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(p["name"].as_str().unwrap_or_default()),
                escape(p["in"].as_str().unwrap_or_default()),
                type_of(&p["schema"]),
                prose(p["description"].as_str().unwrap_or_default()),
            );
        }
        out.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        let media: Vec<String> = content.keys().map(|m| format!("<code>{}</code>", escape(m))).collect();
        let _ = write!(
            out,
            "<p>Body ({}): {}</p>",
            media.join(", "),
            content.values().next().map_or_else(String::new, |c| type_of(&c["schema"]))
        );
        if let Some(example) = content.get("application/json").and_then(|c| c.get("example")) {
            let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
            let _ = write!(out, "<pre>{}</pre>", escape(&pretty));
        }
    }
    let ok = &operation["responses"]["200"]["content"];
    if let Some((media, body)) = ok.as_object().and_then(|c| c.iter().next()) {
        let _ = write!(out, "<p>Answers <code>{}</code>: {}</p>", escape(media), type_of(&body["schema"]));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_page_lists_operations_and_objects_escaped() {
        let spec = json!({
            "info": {"title": "paymesh", "version": "1", "description": "Keys as `user`."},
            "paths": {"/things/{id}": {"get": {
                "operationId": "get_thing", "summary": "Get a <thing>", "tags": ["things"],
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}}}},
            }}},
            "components": {"schemas": {"thing": {"type": "object", "properties": {
                "amount": {"type": ["null", "number"]},
                "lines": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "number"}}}},
            }}}},
        });
        let html = page(&spec);
        assert!(html.contains("Get a &lt;thing&gt;"));
        assert!(html.contains("<code>user</code>"));
        assert!(html.contains("<a href=\"#schema-thing\">thing</a>"));
        assert!(html.contains("<code>lines[].n</code>"));
        assert!(html.contains("null | number"));
    }
}
