//! The billing service's gRPC handlers: convert, call the service, convert
//! back. Creates honour an Idempotency-Key (a retry answers the first
//! answer); every call needs a secret key (or a service's token).

use paymesh_kit::{
    auth::{self, ServiceResources},
    wire::structs,
};
use paymesh_proto::billing::v1::{
    self as pb, allocation_service_server::AllocationService,
    autopay_enrollment_service_server::AutopayEnrollmentService,
    billing_charge_service_server::BillingChargeService,
    billing_schedule_service_server::BillingScheduleService,
    invoice_attachment_service_server::InvoiceAttachmentService, invoice_service_server::InvoiceService,
    line_item_service_server::LineItemService, pay_page_service_server::PayPageService,
    payment_link_service_server::PaymentLinkService,
};
use tonic::{Request, Response, Status};

use crate::{
    convert,
    service::{Billing, links::Manager, scope_of},
    store::links::Related,
};

/// The REST resources each service serves, for restricted keys.
pub(crate) static RESOURCES: &[ServiceResources] = &[
    ServiceResources { service: "paymesh.billing.v1.InvoiceService", resources: &["/invoices"] },
    ServiceResources { service: "paymesh.billing.v1.LineItemService", resources: &["/line_items"] },
    ServiceResources {
        service: "paymesh.billing.v1.BillingScheduleService",
        resources: &["/billing_schedules"],
    },
    ServiceResources { service: "paymesh.billing.v1.BillingChargeService", resources: &["/billing_charges"] },
    ServiceResources {
        service: "paymesh.billing.v1.AutopayEnrollmentService",
        resources: &["/autopay_enrollments"],
    },
    ServiceResources {
        service: "paymesh.billing.v1.InvoiceAttachmentService",
        resources: &["/invoice_attachments"],
    },
    ServiceResources { service: "paymesh.billing.v1.PaymentLinkService", resources: &["/payment_links"] },
];

/// `InvoiceService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct InvoiceApi(pub(crate) Billing);

/// `LineItemService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct LineItemApi(pub(crate) Billing);

/// `BillingScheduleService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct ScheduleApi(pub(crate) Billing);

/// `BillingChargeService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct ChargeApi(pub(crate) Billing);

/// `AutopayEnrollmentService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct EnrollmentApi(pub(crate) Billing);

/// `AllocationService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct AllocationApi(pub(crate) Billing);

/// `InvoiceAttachmentService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct AttachmentApi(pub(crate) Billing);

/// `PaymentLinkService` over the service.
#[derive(Clone, Debug)]
pub(crate) struct LinkApi(pub(crate) Billing);

/// `PayPageService` over the service: the gateway's pages only.
#[derive(Clone, Debug)]
pub(crate) struct PayPageApi(pub(crate) Billing);

/// The caller's scope, if its credential may use billing.
fn scope<T>(request: &Request<T>) -> Result<paymesh_kit::auth::Scope, Status> {
    Ok(scope_of(&auth::principal(request)?)?)
}

#[tonic::async_trait]
impl InvoiceService for InvoiceApi {
    async fn create_invoice(
        &self,
        request: Request<pb::CreateInvoiceRequest>,
    ) -> Result<Response<pb::CreateInvoiceResponse>, Status> {
        let scope = scope(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let (row, items) = billing.create_invoice(scope, message.invoice.unwrap_or_default()).await?;
                Ok(pb::CreateInvoiceResponse { invoice: Some(convert::invoice_to_proto(&row, &items)) })
            })
            .await
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        let scope = scope(&request)?;
        let (row, items) = self.0.invoice(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetInvoiceResponse { invoice: Some(convert::invoice_to_proto(&row, &items)) }))
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let (listing, items) = self.0.invoices(scope, &query).await?;
        Ok(Response::new(pb::ListInvoicesResponse {
            invoices: listing.items.iter().map(|row| convert::invoice_to_proto(row, &items)).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_invoice(
        &self,
        request: Request<pb::UpdateInvoiceRequest>,
    ) -> Result<Response<pb::UpdateInvoiceResponse>, Status> {
        let scope = scope(&request)?;
        let (row, items) = self.0.update_invoice(scope, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateInvoiceResponse {
            invoice: Some(convert::invoice_to_proto(&row, &items)),
        }))
    }

    async fn delete_invoice(
        &self,
        request: Request<pb::DeleteInvoiceRequest>,
    ) -> Result<Response<pb::DeleteInvoiceResponse>, Status> {
        let scope = scope(&request)?;
        let (row, items) = self.0.delete_invoice(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteInvoiceResponse {
            invoice: Some(convert::invoice_to_proto(&row, &items)),
        }))
    }
}

#[tonic::async_trait]
impl LineItemService for LineItemApi {
    async fn create_line_item(
        &self,
        request: Request<pb::CreateLineItemRequest>,
    ) -> Result<Response<pb::CreateLineItemResponse>, Status> {
        let scope = scope(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let row = billing.create_item(scope, message.line_item.unwrap_or_default()).await?;
                Ok(pb::CreateLineItemResponse { line_item: Some(convert::item_to_proto(&row)) })
            })
            .await
    }

    async fn get_line_item(
        &self,
        request: Request<pb::GetLineItemRequest>,
    ) -> Result<Response<pb::GetLineItemResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.item(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetLineItemResponse { line_item: Some(convert::item_to_proto(&row)) }))
    }

    async fn list_line_items(
        &self,
        request: Request<pb::ListLineItemsRequest>,
    ) -> Result<Response<pb::ListLineItemsResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.items(scope, &query).await?;
        Ok(Response::new(pb::ListLineItemsResponse {
            line_items: listing.items.iter().map(convert::item_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_line_item(
        &self,
        request: Request<pb::UpdateLineItemRequest>,
    ) -> Result<Response<pb::UpdateLineItemResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.update_item(scope, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateLineItemResponse { line_item: Some(convert::item_to_proto(&row)) }))
    }

    async fn delete_line_item(
        &self,
        request: Request<pb::DeleteLineItemRequest>,
    ) -> Result<Response<pb::DeleteLineItemResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.delete_item(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteLineItemResponse { line_item: Some(convert::item_to_proto(&row)) }))
    }
}

#[tonic::async_trait]
impl BillingScheduleService for ScheduleApi {
    async fn create_billing_schedule(
        &self,
        request: Request<pb::CreateBillingScheduleRequest>,
    ) -> Result<Response<pb::CreateBillingScheduleResponse>, Status> {
        let scope = scope(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let (row, charges) =
                    billing.create_schedule(scope, message.billing_schedule.unwrap_or_default()).await?;
                Ok(pb::CreateBillingScheduleResponse {
                    billing_schedule: Some(convert::schedule_to_proto(&row, &charges)),
                })
            })
            .await
    }

    async fn get_billing_schedule(
        &self,
        request: Request<pb::GetBillingScheduleRequest>,
    ) -> Result<Response<pb::GetBillingScheduleResponse>, Status> {
        let scope = scope(&request)?;
        let (row, charges) = self.0.schedule(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetBillingScheduleResponse {
            billing_schedule: Some(convert::schedule_to_proto(&row, &charges)),
        }))
    }

    async fn list_billing_schedules(
        &self,
        request: Request<pb::ListBillingSchedulesRequest>,
    ) -> Result<Response<pb::ListBillingSchedulesResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let (listing, charges) = self.0.schedules(scope, &query).await?;
        Ok(Response::new(pb::ListBillingSchedulesResponse {
            billing_schedules: listing
                .items
                .iter()
                .map(|row| convert::schedule_to_proto(row, &charges))
                .collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_billing_schedule(
        &self,
        request: Request<pb::UpdateBillingScheduleRequest>,
    ) -> Result<Response<pb::UpdateBillingScheduleResponse>, Status> {
        let scope = scope(&request)?;
        let (row, charges) = self.0.update_schedule(scope, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateBillingScheduleResponse {
            billing_schedule: Some(convert::schedule_to_proto(&row, &charges)),
        }))
    }

    async fn delete_billing_schedule(
        &self,
        request: Request<pb::DeleteBillingScheduleRequest>,
    ) -> Result<Response<pb::DeleteBillingScheduleResponse>, Status> {
        let scope = scope(&request)?;
        let (row, charges) = self.0.delete_schedule(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteBillingScheduleResponse {
            billing_schedule: Some(convert::schedule_to_proto(&row, &charges)),
        }))
    }
}

#[tonic::async_trait]
impl BillingChargeService for ChargeApi {
    async fn create_billing_charge(
        &self,
        request: Request<pb::CreateBillingChargeRequest>,
    ) -> Result<Response<pb::CreateBillingChargeResponse>, Status> {
        let scope = scope(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let row = billing.create_charge(scope, message.billing_charge.unwrap_or_default()).await?;
                Ok(pb::CreateBillingChargeResponse { billing_charge: Some(convert::charge_to_proto(&row)) })
            })
            .await
    }

    async fn get_billing_charge(
        &self,
        request: Request<pb::GetBillingChargeRequest>,
    ) -> Result<Response<pb::GetBillingChargeResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.charge(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetBillingChargeResponse {
            billing_charge: Some(convert::charge_to_proto(&row)),
        }))
    }

    async fn list_billing_charges(
        &self,
        request: Request<pb::ListBillingChargesRequest>,
    ) -> Result<Response<pb::ListBillingChargesResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.charges(scope, &query).await?;
        Ok(Response::new(pb::ListBillingChargesResponse {
            billing_charges: listing.items.iter().map(convert::charge_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_billing_charge(
        &self,
        request: Request<pb::UpdateBillingChargeRequest>,
    ) -> Result<Response<pb::UpdateBillingChargeResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.update_charge(scope, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateBillingChargeResponse {
            billing_charge: Some(convert::charge_to_proto(&row)),
        }))
    }

    async fn delete_billing_charge(
        &self,
        request: Request<pb::DeleteBillingChargeRequest>,
    ) -> Result<Response<pb::DeleteBillingChargeResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.delete_charge(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteBillingChargeResponse {
            billing_charge: Some(convert::charge_to_proto(&row)),
        }))
    }
}

/// The caller's scope, if it is a paymesh service (allocations are the
/// payments service's to make).
fn service_scope<T>(request: &Request<T>) -> Result<paymesh_kit::auth::Scope, Status> {
    let principal = auth::principal(request)?;
    if principal.service.is_none() {
        return Err(paymesh_kit::Error::Forbidden(
            "Only paymesh services allocate payments: allocate with the transaction that pays".to_owned(),
        )
        .into());
    }
    Ok(principal.scope())
}

#[tonic::async_trait]
impl AllocationService for AllocationApi {
    async fn reserve_allocations(
        &self,
        request: Request<pb::ReserveAllocationsRequest>,
    ) -> Result<Response<pb::ReserveAllocationsResponse>, Status> {
        let scope = service_scope(&request)?;
        let (allocations, hold_settlement) = self.0.reserve(scope, request.into_inner()).await?;
        Ok(Response::new(pb::ReserveAllocationsResponse { allocations, hold_settlement }))
    }

    async fn settle_allocations(
        &self,
        request: Request<pb::SettleAllocationsRequest>,
    ) -> Result<Response<pb::SettleAllocationsResponse>, Status> {
        let scope = service_scope(&request)?;
        self.0.settle(scope, request.into_inner()).await?;
        Ok(Response::new(pb::SettleAllocationsResponse {}))
    }

    async fn releasable_settlements(
        &self,
        request: Request<pb::ReleasableSettlementsRequest>,
    ) -> Result<Response<pb::ReleasableSettlementsResponse>, Status> {
        let scope = service_scope(&request)?;
        let transaction_ids = self.0.releasable(scope, request.into_inner()).await?;
        Ok(Response::new(pb::ReleasableSettlementsResponse { transaction_ids }))
    }
}

#[tonic::async_trait]
impl AutopayEnrollmentService for EnrollmentApi {
    async fn create_autopay_enrollment(
        &self,
        request: Request<pb::CreateAutopayEnrollmentRequest>,
    ) -> Result<Response<pb::CreateAutopayEnrollmentResponse>, Status> {
        let scope = scope(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let row =
                    billing.create_enrollment(scope, message.autopay_enrollment.unwrap_or_default()).await?;
                Ok(pb::CreateAutopayEnrollmentResponse {
                    autopay_enrollment: Some(convert::enrollment_to_proto(&row)),
                })
            })
            .await
    }

    async fn get_autopay_enrollment(
        &self,
        request: Request<pb::GetAutopayEnrollmentRequest>,
    ) -> Result<Response<pb::GetAutopayEnrollmentResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.enrollment(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetAutopayEnrollmentResponse {
            autopay_enrollment: Some(convert::enrollment_to_proto(&row)),
        }))
    }

    async fn list_autopay_enrollments(
        &self,
        request: Request<pb::ListAutopayEnrollmentsRequest>,
    ) -> Result<Response<pb::ListAutopayEnrollmentsResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.enrollments(scope, &query).await?;
        Ok(Response::new(pb::ListAutopayEnrollmentsResponse {
            autopay_enrollments: listing.items.iter().map(convert::enrollment_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_autopay_enrollment(
        &self,
        request: Request<pb::UpdateAutopayEnrollmentRequest>,
    ) -> Result<Response<pb::UpdateAutopayEnrollmentResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.update_enrollment(scope, request.into_inner()).await?;
        Ok(Response::new(pb::UpdateAutopayEnrollmentResponse {
            autopay_enrollment: Some(convert::enrollment_to_proto(&row)),
        }))
    }

    async fn delete_autopay_enrollment(
        &self,
        request: Request<pb::DeleteAutopayEnrollmentRequest>,
    ) -> Result<Response<pb::DeleteAutopayEnrollmentResponse>, Status> {
        let scope = scope(&request)?;
        let row = self.0.delete_enrollment(scope, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteAutopayEnrollmentResponse {
            autopay_enrollment: Some(convert::enrollment_to_proto(&row)),
        }))
    }
}

#[tonic::async_trait]
impl InvoiceAttachmentService for AttachmentApi {
    async fn create_invoice_attachment(
        &self,
        request: Request<pb::CreateInvoiceAttachmentRequest>,
    ) -> Result<Response<pb::CreateInvoiceAttachmentResponse>, Status> {
        let manager = manager(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let row = billing.create_attachment(manager, message).await?;
                Ok(pb::CreateInvoiceAttachmentResponse {
                    invoice_attachment: Some(convert::attachment_to_proto(&row)),
                })
            })
            .await
    }

    async fn get_invoice_attachment(
        &self,
        request: Request<pb::GetInvoiceAttachmentRequest>,
    ) -> Result<Response<pb::GetInvoiceAttachmentResponse>, Status> {
        let manager = manager(&request)?;
        let row = self.0.attachment(manager, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetInvoiceAttachmentResponse {
            invoice_attachment: Some(convert::attachment_to_proto(&row)),
        }))
    }

    async fn list_invoice_attachments(
        &self,
        request: Request<pb::ListInvoiceAttachmentsRequest>,
    ) -> Result<Response<pb::ListInvoiceAttachmentsResponse>, Status> {
        let manager = manager(&request)?;
        let query = request.get_ref().query.clone().unwrap_or_default();
        let listing = self.0.attachments(manager, &query).await?;
        Ok(Response::new(pb::ListInvoiceAttachmentsResponse {
            invoice_attachments: listing.items.iter().map(convert::attachment_to_proto).collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn get_invoice_attachment_content(
        &self,
        request: Request<pb::GetInvoiceAttachmentContentRequest>,
    ) -> Result<Response<pb::GetInvoiceAttachmentContentResponse>, Status> {
        let manager = manager(&request)?;
        let (row, content) = self.0.attachment_content(manager, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetInvoiceAttachmentContentResponse {
            invoice_attachment: Some(convert::attachment_to_proto(&row)),
            content,
        }))
    }

    async fn delete_invoice_attachment(
        &self,
        request: Request<pb::DeleteInvoiceAttachmentRequest>,
    ) -> Result<Response<pb::DeleteInvoiceAttachmentResponse>, Status> {
        let manager = manager(&request)?;
        let row = self.0.delete_attachment(manager, &request.get_ref().id).await?;
        Ok(Response::new(pb::DeleteInvoiceAttachmentResponse {
            invoice_attachment: Some(convert::attachment_to_proto(&row)),
        }))
    }
}

#[tonic::async_trait]
impl PaymentLinkService for LinkApi {
    async fn create_payment_link(
        &self,
        request: Request<pb::CreatePaymentLinkRequest>,
    ) -> Result<Response<pb::CreatePaymentLinkResponse>, Status> {
        let manager = manager(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let (row, messages) =
                    billing.create_link(manager, message.payment_link.unwrap_or_default()).await?;
                Ok(pb::CreatePaymentLinkResponse { payment_link: Some(billing.link_proto(&row, &messages)) })
            })
            .await
    }

    async fn get_payment_link(
        &self,
        request: Request<pb::GetPaymentLinkRequest>,
    ) -> Result<Response<pb::GetPaymentLinkResponse>, Status> {
        let manager = manager(&request)?;
        let (row, messages) = self.0.link(manager, &request.get_ref().id).await?;
        Ok(Response::new(pb::GetPaymentLinkResponse {
            payment_link: Some(self.0.link_proto(&row, &messages)),
        }))
    }

    async fn list_payment_links(
        &self,
        request: Request<pb::ListPaymentLinksRequest>,
    ) -> Result<Response<pb::ListPaymentLinksResponse>, Status> {
        let manager = manager(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let (listing, messages) = self.0.links(manager, query).await?;
        Ok(Response::new(pb::ListPaymentLinksResponse {
            payment_links: listing
                .items
                .iter()
                .map(|row| self.0.link_proto(row, messages.get(&row.id).unwrap_or(&Related::default())))
                .collect(),
            computed: structs(listing.computed),
            groups: structs(listing.groups),
        }))
    }

    async fn update_payment_link(
        &self,
        request: Request<pb::UpdatePaymentLinkRequest>,
    ) -> Result<Response<pb::UpdatePaymentLinkResponse>, Status> {
        let manager = manager(&request)?;
        let (row, messages) = self.0.update_link(manager, request.into_inner()).await?;
        Ok(Response::new(pb::UpdatePaymentLinkResponse {
            payment_link: Some(self.0.link_proto(&row, &messages)),
        }))
    }

    async fn send_payment_link(
        &self,
        request: Request<pb::SendPaymentLinkRequest>,
    ) -> Result<Response<pb::SendPaymentLinkResponse>, Status> {
        let manager = manager(&request)?;
        let billing = &self.0;
        billing
            .keys
            .once(request, billing.clock.now(), |_, message| async move {
                let (row, messages) = billing.send_link(manager, message).await?;
                Ok(pb::SendPaymentLinkResponse { payment_link: Some(billing.link_proto(&row, &messages)) })
            })
            .await
    }
}

/// The manager of links a request's credential makes: the partner, or a
/// merchant token's processing account.
fn manager<T>(request: &Request<T>) -> Result<Manager, Status> {
    Ok(Manager::of(&auth::principal(request)?)?)
}

/// Fails unless the caller is the paymesh gateway: a page's token is the
/// payer's only credential, and only the gateway serves pages.
fn gateway_only<T>(request: &Request<T>) -> Result<(), Status> {
    Ok(auth::principal(request)?.require_service("gateway")?)
}

#[tonic::async_trait]
impl PayPageService for PayPageApi {
    async fn get_pay_page(
        &self,
        request: Request<pb::GetPayPageRequest>,
    ) -> Result<Response<pb::GetPayPageResponse>, Status> {
        gateway_only(&request)?;
        let page = self.0.pay_page(&request.get_ref().token).await?;
        Ok(Response::new(pb::GetPayPageResponse { page: Some(page) }))
    }

    async fn pay_payment_link(
        &self,
        request: Request<pb::PayPaymentLinkRequest>,
    ) -> Result<Response<pb::PayPaymentLinkResponse>, Status> {
        gateway_only(&request)?;
        Ok(Response::new(self.0.pay_link(request.into_inner()).await?))
    }

    async fn get_pay_page_attachment(
        &self,
        request: Request<pb::GetPayPageAttachmentRequest>,
    ) -> Result<Response<pb::GetPayPageAttachmentResponse>, Status> {
        gateway_only(&request)?;
        let pb::GetPayPageAttachmentRequest { token, attachment_id } = request.into_inner();
        let (file, content) = self.0.page_attachment(&token, &attachment_id).await?;
        Ok(Response::new(pb::GetPayPageAttachmentResponse {
            file_name: file.file_name,
            content_type: file.content_type,
            content,
        }))
    }
}
