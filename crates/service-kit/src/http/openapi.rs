//! Each service's OpenAPI document, generated from the code: the `#[utoipa::path]`
//! annotations on its handlers, collected as the routes are registered
//! (`utoipa_axum::OpenApiRouter`), with the operational routes every service serves.
//! `SERVICE --openapi` prints it, `GET /openapi.json` serves it, and
//! `scripts/check-interfaces` fails when the committed `openapi.json` differs.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi as _;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Server};

use crate::ServiceSpec;

/// What this module adds to every document: its own route and the error shape.
#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi_json), components(schemas(super::ErrorBody)))]
struct Shared;

/// The whole document of a service: `spec.api`'s paths (with its title, version and
/// description), the operational routes, the error shape, and the local server.
pub fn document(spec: &ServiceSpec) -> OpenApi {
    let mut document = (spec.api)();
    document.merge(crate::health::routes().into_openapi());
    document.merge(Shared::openapi());
    document.servers = Some(vec![Server::new(format!(
        "http://127.0.0.1:{}",
        spec.http_port
    ))]);
    document
}

/// The document as committed in `services/*/openapi.json`: pretty JSON and a newline.
pub fn to_json(document: &OpenApi) -> String {
    let mut json = document
        .to_pretty_json()
        .expect("an OpenAPI document is JSON");
    json.push('\n');
    json
}

/// The schema of a string that is one of `values`: for a field whose values are spelled
/// by a domain type's own conversion (`schema_with`), so the document lists them.
pub fn one_of_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = OK, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
async fn openapi_json(State(json): State<Arc<str>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
}

/// `GET /openapi.json`, serving `document`.
pub fn router(document: &OpenApi) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .with_state(Arc::from(to_json(document)))
}
