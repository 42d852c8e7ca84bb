//! The browser toolkit: `GET /js/paymesh.js`, the script partners embed
//! (Payload.js's interface: the Pay Now button and `pl.Checkout`, Secure
//! Input's `pl.Form`; PlacePay's Pay plugin, also at `/plugins/pay.js`),
//! and `GET /js/frame`, the page of its frames — one
//! secured input, or the whole checkout — where card and bank numbers are
//! typed and sent to the REST API with the partner's client key, so that
//! the partner's page never holds them.
//!
//! A client key may only authorize a payment of a method given inline, or
//! tokenize a method (the payments and methods services hold that rule);
//! the partner's server confirms an authorized payment with its secret key.
//! Only the partner's allowed origins (`PAYMESH_CORS_ORIGINS`) may frame
//! the frames (`frame-ancestors`); the frames call the API from the
//! gateway's own origin.

use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};

use crate::{
    pages::{asset, html},
    portal::framed_policy,
    state::AppState,
};

const LIBRARY: &str = include_str!("../assets/paymesh.js");
const FRAME: &str = include_str!("../assets/frame.html");
const FRAME_SCRIPT: &str = include_str!("../assets/frame.js");
const FRAME_STYLE: &str = include_str!("../assets/frame.css");

/// The routes of the toolkit.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/js/paymesh.js", get(|| async { asset(LIBRARY, "text/javascript; charset=utf-8") }))
        // PlacePay's Pay plugin is the same script, at PlacePay's path.
        .route("/plugins/pay.js", get(|| async { asset(LIBRARY, "text/javascript; charset=utf-8") }))
        .route("/js/frame", get(frame))
        .route("/js/frame.js", get(|| async { asset(FRAME_SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/js/frame.css", get(|| async { asset(FRAME_STYLE, "text/css; charset=utf-8") }))
}

/// `GET /js/frame`: its settings travel in the fragment, never to a server.
async fn frame(State(state): State<AppState>) -> Response {
    html(StatusCode::OK, FRAME, &framed_policy(&state.config.cors_origins, "'none'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::names_another_origin;

    #[test]
    fn the_toolkit_loads_nothing_from_elsewhere() {
        for text in [FRAME, FRAME_SCRIPT, FRAME_STYLE] {
            assert!(!names_another_origin(text), "{text}");
        }
        // The library reaches only the origin it was loaded from.
        assert!(!names_another_origin(LIBRARY));
    }
}
