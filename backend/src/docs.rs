//! The documentation page: Swagger UI (vendored from the pinned npm package, see
//! `backend/assets/README.md`) over this server's own `/openapi.json`. Everything is
//! in the binary: the page works offline, with no CDN.

/// The page. Paths are relative to `/admin_api/docs`, so the page works under any
/// prefix a reverse proxy adds.
pub const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Prosody administration API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false
});
</script>
</body>
</html>
"##;

/// The page as `host` serves it: with several hosts on the server, a line naming them
/// first (plain HTML, no script: the policy's hash is of the one script).
pub fn page(host: &str, served: &[String]) -> String {
    if served.len() < 2 {
        return PAGE.to_string();
    }
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let others: Vec<String> = served.iter().map(|h| escape(h)).collect();
    let line = format!(
        "<p>VirtualHost <strong>{}</strong>, one of the {} this server serves: {} (the request's Host picks one)</p>\n",
        escape(host),
        served.len(),
        others.join(", ")
    );
    PAGE.replacen("<body>\n", &format!("<body>\n{line}"), 1)
}

pub const STYLE: &str = include_str!("../assets/swagger-ui.css");
pub const SCRIPT: &str = include_str!("../assets/swagger-ui-bundle.js");

/// The page's Content-Security-Policy: its own files only, the one inline script by its
/// hash (nothing else inline runs), Swagger UI's inline styles and data: images, calls to
/// this server only, never framed.
pub fn page_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let start = PAGE.find("<script>\n").map(|i| i + "<script>".len()).unwrap_or(0);
        let end = PAGE[start..].find("</script>").map(|i| start + i).unwrap_or(start);
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&PAGE.as_bytes()[start..end]));
        format!(
            "default-src 'none'; script-src 'self' 'sha256-{hash}'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        )
    })
}

/// What every other answer gets: nothing may load from it, nothing may frame it.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_names_the_hosts_when_several() {
        assert_eq!(super::page("a.example", &["a.example".into()]), super::PAGE);
        let p = super::page("a.example", &["a.example".into(), "b<x>".into()]);
        assert!(p.contains("<strong>a.example</strong>, one of the 2") && p.contains("b&lt;x&gt;"), "{p}");
        // The inline script is the one the policy hashes.
        assert!(p.contains(&super::PAGE[super::PAGE.find("<script>\n").unwrap()..]));
    }

    #[test]
    fn the_policy_names_the_inline_script_by_its_hash() {
        let p = super::page_policy();
        assert!(p.contains("script-src 'self' 'sha256-") && !p.contains("unsafe-eval"), "{p}");
        // The hash is of the script's text exactly (what a browser hashes).
        let inline = super::PAGE.split("<script>").nth(1).unwrap().split("</script>").next().unwrap();
        use base64::Engine as _;
        use sha2::Digest as _;
        let want = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inline.as_bytes()));
        assert!(p.contains(&want));
    }
}
