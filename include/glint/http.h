/*
 * glint/http.h - the wire format between glintd and a guest's HTTP handler.
 *
 * A route with `bind: http` calls a guest function of signature
 * `bytes -> bytes`: the argument is the request, the result the response,
 * both in the little-endian layout below.  Guests use the helpers of
 * <glint/guest_http.h> rather than this layout; hosts other than glintd may
 * use it to call such handlers themselves.
 *
 * Request:
 *   u32 magic GLINT_HTTP_REQ_MAGIC, u32 version GLINT_HTTP_VERSION
 *   u32 method_len, path_len, query_len, nheaders, body_len
 *   method, path (decoded, without the query), query (raw, without '?')
 *   nheaders x { u32 name_len, u32 value_len, name, value }  (names lower case)
 *   body
 *
 * Response:
 *   u32 magic GLINT_HTTP_RESP_MAGIC, u32 version GLINT_HTTP_VERSION
 *   u32 status (100..599), u32 nheaders, u32 body_len
 *   nheaders x { u32 name_len, u32 value_len, name, value }
 *   body
 *
 * No padding anywhere; every length counts bytes; the parts follow each
 * other and end exactly at the end of the bytes value.  Strings are not
 * NUL-terminated.  A response that does not parse is a guest failure
 * (HTTP 500 from glintd).  Header names of a response must be HTTP token
 * characters, at most GLINT_HTTP_MAX_NAME bytes; values printable ASCII,
 * at most GLINT_HTTP_MAX_VALUE bytes (glintd refuses a response with
 * others).  glintd sets Content-Length itself and drops Content-Length,
 * Transfer-Encoding and Connection headers from a response.
 */
#ifndef GLINT_HTTP_H
#define GLINT_HTTP_H

#define GLINT_HTTP_REQ_MAGIC  0x51524847u /* "GHRQ" */
#define GLINT_HTTP_RESP_MAGIC 0x53524847u /* "GHRS" */
#define GLINT_HTTP_VERSION    1u

#define GLINT_HTTP_REQ_FIXED  28u /* bytes before the method */
#define GLINT_HTTP_RESP_FIXED 20u /* bytes before the first header */
#define GLINT_HTTP_MAX_HEADERS 128u
#define GLINT_HTTP_MAX_NAME   255u  /* bytes in a response header's name */
#define GLINT_HTTP_MAX_VALUE  4095u /* bytes in a response header's value */

#endif
