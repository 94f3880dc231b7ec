//! The WHM API client and its simulator (in progress).
