//! The live stream on the socket.io protocol: Payload's Event Model as its
//! reference's JavaScript writes it —
//!
//! ```js
//! var socket = io.connect('/client', {transports: ['websocket'], query: {access_token: KEY}})
//! socket.on('change', function(data) { console.log('[' + data.evt + '] ' + data.object + ': ' + data.id) })
//! ```
//!
//! The `/client` namespace takes the API key as the `access_token` query
//! parameter, held to the rules of a REST call (a key of the events
//! service's liking, its rate limit; from a browser only a client key, from
//! an allowed origin); a refused key is refused at connection with a
//! `connect_error` saying why. Each of the caller's events is a `change`:
//! `evt` (insert | update | delete), `object` (the resource, e.g.
//! "transaction"), `id` (its id), `type` (`transaction.payment`),
//! `event_id`, `created_at` and `data`, the object as of the change.
//! Served by socketioxide in front of the REST routes, on `/socket.io/`.

use std::fmt;

use paymesh_kit::auth::{ApiKey, parse_authorization};
use paymesh_proto::events::v1::SubscribeRequest;
use serde_json::{Value, json};
use socketioxide::{
    SocketIo,
    extract::{SocketRef, State},
    handler::ConnectHandler as _,
    layer::SocketIoLayer,
};
use tokio_stream::StreamExt as _;

use crate::{
    auth::{Caller, admit},
    state::AppState,
    stream::subscribe,
};

/// The namespace Payload's example connects to.
const NAMESPACE: &str = "/client";

/// The socket.io layer of the gateway, over `state`.
pub(crate) fn layer(state: AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder().with_state(state).build_layer();
    io.ns(NAMESPACE, connected.with(admitted));
    layer
}

/// Why a connection is refused: sent to the client as its `connect_error`.
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key a connection presents as its `access_token`.
fn access_token(socket: &SocketRef) -> Result<ApiKey, Refused> {
    let query = socket.req_parts().uri.query().unwrap_or_default();
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| Refused("Required: the API key as the access_token query parameter".to_owned()))?;
    parse_authorization(&format!("Bearer {token}")).map_err(|e| Refused(e.to_string()))
}

/// Admits a connection whose key the REST API would admit.
async fn admitted(socket: SocketRef, State(state): State<AppState>) -> Result<(), Refused> {
    let key = access_token(&socket)?;
    let principal = state.authenticator.authenticate(&key).await.map_err(|e| Refused(e.to_string()))?;
    let origin = crate::cors::origin(&socket.req_parts().headers);
    admit(&state, &principal, origin, false).map_err(|refused| {
        let why = refused.body()["description"].as_str().map(str::to_owned);
        Refused(why.unwrap_or_else(|| "Refused".to_owned()))
    })
}

/// Streams the caller's events to the socket as `change`s until either
/// side ends.
async fn connected(socket: SocketRef, State(state): State<AppState>) {
    let Ok(key) = access_token(&socket) else { return };
    let caller = Caller::new(key, state.request_timeout);
    let events = match subscribe(&state, &caller, SubscribeRequest::default()).await {
        Ok(events) => events,
        Err(error) => {
            socket.emit("error", &error.body()).ok();
            socket.disconnect().ok();
            return;
        }
    };
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some((event, object)) = events.next().await {
            let field = |name: &str| object.get(name).cloned().unwrap_or(Value::Null);
            let change = json!({
                "evt": field("change"), "object": field("resource"), "id": field("resource_id"),
                "type": event.r#type, "event_id": event.id, "created_at": field("created_at"),
                "data": field("data"),
            });
            if socket.emit("change", &change).is_err() {
                break;
            }
        }
        socket.disconnect().ok();
    });
}
