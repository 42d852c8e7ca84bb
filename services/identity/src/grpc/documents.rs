//! `DocumentService`: identity documents, reviewed at upload in test mode.

use paymesh_kit::Error;
use paymesh_proto::identity::v1::{self as pb, document_service_server::DocumentService};
use tonic::{Request, Response, Status};

use super::{object_id, secret, structs};
use crate::{
    convert::documents as wire,
    domain::document::test_mode_review,
    service::documents::{Documents, not_found},
};

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
        let now = self.0.clock.now();
        self.0
            .keys
            .once(request, now, |_, message| async move {
                let pb::CreateDocumentRequest { document, content } = message;
                let document = wire::new_document(document, &content, self.0.max_bytes, scope.livemode, now)
                    .map_err(Error::InvalidAttributes)?;
                // Test mode reviews at once by the documented rule; live
                // documents wait for an operator.
                let decision = (!scope.livemode).then(|| test_mode_review(&document.file_name));
                let document = self.0.insert(scope, document, &content, decision).await?;
                Ok(pb::CreateDocumentResponse { document: Some(wire::to_proto(document)) })
            })
            .await
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        let document = self.0.store.document(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetDocumentResponse { document: Some(wire::to_proto(document)) }))
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        let (_, scope) = secret(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.0.store.list_documents(scope, &query, self.0.limits).await?;
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
        let id = object_id(&request.get_ref().id, not_found)?;
        let (document, content) = self.0.store.document_content(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetDocumentContentResponse {
            document: Some(wire::to_proto(document)),
            content: content.to_vec(),
        }))
    }
}
