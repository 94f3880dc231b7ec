//! Security headers on every response (OWASP Secure Headers): a Content-Security-Policy that
//! allows no inline script or style and no framing, `nosniff`, a strict Referrer-Policy, and
//! HSTS when the public URL is https. Pages load only same-origin assets; the icons on the
//! simulator's pages are data: URLs, but those are served by the simulator, not here.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use super::WebSettings;

/// The policy: same-origin scripts, styles and images (plus data: images), nothing framed,
/// forms posting only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// HSTS for https deployments: a year, subdomains left alone (they may not all be https).
const HSTS: &str = "max-age=31536000";

/// Adds the headers to every response of `router`; a handler that sets one itself keeps its
/// own.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    settings: &WebSettings,
) -> Router<S> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"));
    if settings.secure_cookies() {
        router.layer(set(header::STRICT_TRANSPORT_SECURITY, HSTS))
    } else {
        router
    }
}
