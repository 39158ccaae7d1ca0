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
    with_bearer_tokens(&mut document);
    document
}

/// The security scheme of docs/security.md: every operation but the probes and metrics
/// takes a bearer token when auth is on, and may answer 401. (A 403 is the handler's to
/// document: only it knows whether its role or customer can be refused.)
fn with_bearer_tokens(document: &mut OpenApi) {
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    use utoipa::openapi::{Ref, ResponseBuilder, content::ContentBuilder};

    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An EdDSA-signed JWT with `sub`, `role` (customer | operator), `aud` and `exp`; needed when the service has AUTH_PUBLIC_KEY_FILES (docs/security.md). `sagactl token` mints one."))
                    .build(),
            ),
        );
    let refusal = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            )
            .build()
    };
    for (path, item) in document.paths.paths.iter_mut() {
        if super::auth::OPEN.contains(&path.as_str()) {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            let responses = &mut operation.responses.responses;
            responses.insert(
                "401".into(),
                refusal("No valid bearer token (auth on)").into(),
            );
        }
    }
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
