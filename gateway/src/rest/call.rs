//! Unary gRPC calls of any RPC, with messages built from descriptors.

use http::uri::PathAndQuery;
use paymesh_kit::grpc::Channel;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, MethodDescriptor};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

/// Encodes requests and decodes responses of one message type.
#[derive(Debug, Clone)]
struct Dynamic(MessageDescriptor);

impl Codec for Dynamic {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        self.clone()
    }

    fn decoder(&mut self) -> Self {
        self.clone()
    }
}

impl Encoder for Dynamic {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|e| Status::internal(format!("encoding a request: {e}")))
    }
}

impl Decoder for Dynamic {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| Status::internal(format!("decoding a response: {e}")))
    }
}

/// Calls `method` on `channel` with `request`; `max_bytes` bounds both
/// messages.
pub(crate) async fn unary(
    channel: Channel,
    method: &MethodDescriptor,
    request: tonic::Request<DynamicMessage>,
    max_bytes: usize,
) -> Result<DynamicMessage, Status> {
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = PathAndQuery::try_from(path).map_err(|e| Status::internal(e.to_string()))?;
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(max_bytes)
        .max_encoding_message_size(max_bytes);
    grpc.ready().await.map_err(|e| Status::unavailable(format!("service not ready: {e}")))?;
    Ok(grpc.unary(request, path, Dynamic(method.output())).await?.into_inner())
}
