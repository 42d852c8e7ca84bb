//! `GET /portal`: the merchant portal, the low-code dashboard a partner
//! embeds (an iframe) in its own merchant pages, as connectFi's payment
//! link dashboard. It is a static page with a script of its own
//! (`/portal/assets/portal.js`) that works with one merchant token, given
//! in the page's fragment (`/portal#token=eyJ…`, never sent to a server
//! in a URL): it shows the merchant's processing account, lists its
//! payment links (search and filter by status), creates, sends and
//! cancels them, through the REST API with the token in
//! `x-connectfi-jwtoken`. The token sees its own processing account's
//! links only; an expired or revoked one is refused (401) and the page
//! says so.
//!
//! Only the partner's allowed origins (`PAYMESH_CORS_ORIGINS`) may frame
//! it (`frame-ancestors`).

use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};

use crate::{
    config::Origins,
    pages::{asset, html},
    state::AppState,
};

const PAGE: &str = include_str!("../assets/portal.html");
const SCRIPT: &str = include_str!("../assets/portal.js");
const STYLE: &str = include_str!("../assets/portal.css");

/// The routes of the portal.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(page))
        .route("/portal/assets/portal.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/portal/assets/portal.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
}

/// The `frame-ancestors` of the allowed origins.
fn ancestors(origins: &Origins) -> String {
    match origins {
        Origins::Any => "*".to_owned(),
        Origins::Only(list) => list.join(" "),
    }
}

/// The content security policy of a page of the gateway's own that the
/// allowed origins frame: its own script, style and API, `images` as
/// given, no forms, framed by `origins` only.
pub(crate) fn framed_policy(origins: &Origins, images: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src {images}; \
         form-action 'none'; base-uri 'none'; frame-ancestors {}",
        ancestors(origins)
    )
}

/// `GET /portal`.
async fn page(State(state): State<AppState>) -> Response {
    html(StatusCode::OK, PAGE, &framed_policy(&state.config.cors_origins, "'self' data:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allowed_origins_may_frame_the_portal() {
        assert_eq!(ancestors(&Origins::Any), "*");
        let only = Origins::parse("https://shop.example, https://admin.shop.example").unwrap();
        assert_eq!(ancestors(&only), "https://shop.example https://admin.shop.example");
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in [PAGE, SCRIPT, STYLE] {
            assert!(!crate::pages::names_another_origin(text), "{text}");
        }
    }
}
