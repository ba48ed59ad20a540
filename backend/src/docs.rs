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

pub const STYLE: &str = include_str!("../assets/swagger-ui.css");
pub const SCRIPT: &str = include_str!("../assets/swagger-ui-bundle.js");
