//! The browser pages the gateway serves (`/admin`, `/studio`): a static
//! page, its script and its style, holding no data. They are served apart
//! so the policy can forbid inline code: a page runs only its own script
//! and talks only to this origin, where it reads the API with the token the
//! person gives it. What they share (`common.js`, `common.css`) is served
//! under each page's scope.

use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpResponse, web};

use super::resource;

/// What every page loads before its own script and style.
const COMMON_SCRIPT: &str = include_str!("common.js");
const COMMON_STYLE: &str = include_str!("common.css");

/// One page's files: the HTML, and its script and style by file name.
pub struct Page {
    pub scope: &'static str,
    pub html: &'static str,
    pub script: (&'static str, &'static str),
    pub style: (&'static str, &'static str),
}

/// Serves `page` under its scope with a policy that loads nothing from
/// elsewhere (media from this origin: the studio plays the job's files).
pub fn serve(cfg: &mut web::ServiceConfig, page: Page) {
    let file = |body: &'static str, content_type: &'static str| {
        move || async move { HttpResponse::Ok().content_type(content_type).body(body) }
    };
    let html = file(page.html, "text/html; charset=utf-8");
    cfg.service(
        web::scope(page.scope)
            .wrap(
                DefaultHeaders::new()
                    .add((
                        "content-security-policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                         img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; \
                         frame-ancestors 'none'",
                    ))
                    // Revalidated on every load, so a new release is picked up.
                    .add(("cache-control", "no-cache")),
            )
            .service(resource("", "GET").get(html))
            .service(resource("/", "GET").get(html))
            .service(
                resource(page.script.0, "GET")
                    .get(file(page.script.1, "text/javascript; charset=utf-8")),
            )
            .service(
                resource(page.style.0, "GET").get(file(page.style.1, "text/css; charset=utf-8")),
            )
            .service(resource("/common.js", "GET").get(file(COMMON_SCRIPT, "text/javascript; charset=utf-8")))
            .service(resource("/common.css", "GET").get(file(COMMON_STYLE, "text/css; charset=utf-8"))),
    );
}
