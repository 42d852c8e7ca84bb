//! `DocumentService`: identity documents — convert, call the service's
//! documents, convert back.

use paymesh_kit::Error;
use paymesh_proto::identity::v1::{self as pb, document_service_server::DocumentService};
use tonic::{Request, Response, Status};

use super::{secret, structs};
use crate::{convert::documents as wire, service::documents::Documents};

/// `DocumentService` over the service's documents.
#[derive(Debug, Clone)]
pub(crate) struct DocumentApi(pub(crate) Documents);

#[tonic::async_trait]
impl DocumentService for DocumentApi {
    async fn create_document(
        &self,
        request: Request<pb::CreateDocumentRequest>,
    ) -> Result<Response<pb::CreateDocumentResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let documents = &self.0;
        let now = documents.clock.now();
        documents
            .keys
            .once(request, now, |_, message| async move {
                let pb::CreateDocumentRequest { document, content } = message;
                let document =
                    wire::new_document(document, &content, documents.max_bytes, scope.livemode, now)
                        .map_err(Error::InvalidAttributes)?;
                let document = documents.upload(scope, document, &content).await?;
                Ok(pb::CreateDocumentResponse { document: Some(wire::to_proto(document)) })
            })
            .await
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let document = self.0.document(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetDocumentResponse { document: Some(wire::to_proto(document)) }))
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.list(scope, &query).await?;
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: listing.items.into_iter().map(wire::to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn get_document_content(
        &self,
        request: Request<pb::GetDocumentContentRequest>,
    ) -> Result<Response<pb::GetDocumentContentResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let (document, content) = self.0.content(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetDocumentContentResponse {
            document: Some(wire::to_proto(document)),
            content: content.to_vec(),
        }))
    }
}
