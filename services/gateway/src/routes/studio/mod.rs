//! The studio (`/studio`): the people who ordered a dub watch it with the
//! original a click away, read its lines with their timings, speakers and
//! quality flags, hear any line, fix text, timing or speaker, save, watch
//! the re-render live and download the results. A static page on the public
//! API, signed in with the tenant's API key (or JWT), which stays in the
//! browser tab; it loads nothing from elsewhere.

use actix_web::web;

pub fn pages(cfg: &mut web::ServiceConfig) {
    super::pages::serve(
        cfg,
        super::pages::Page {
            scope: "/studio",
            html: include_str!("studio.html"),
            script: ("/studio.js", include_str!("studio.js")),
            style: ("/studio.css", include_str!("studio.css")),
        },
    );
}
