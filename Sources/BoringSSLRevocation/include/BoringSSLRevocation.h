#ifndef CRM_BORINGSSL_REVOCATION_H
#define CRM_BORINGSSL_REVOCATION_H

#include <stddef.h>
#include <stdint.h>

/// Adds one DER-encoded CRL to the trust store of an SSL_CTX of the BoringSSL that NIOSSL links,
/// so that the handshake's own certificate verification consults it. Returns 1 on success, 0 if
/// the bytes are not a CRL or the store refused it.
int crm_ssl_ctx_add_crl(void *ssl_ctx, const uint8_t *der, size_t length);

/// Turns on CRL checking of the peer's leaf certificate for every handshake of the SSL_CTX: a
/// revoked certificate then fails verification with X509_V_ERR_CERT_REVOKED, which BoringSSL
/// reports to the peer as the certificate_revoked alert. Returns 1 on success.
int crm_ssl_ctx_check_crls(void *ssl_ctx);

#endif
