# OpenLDAP (Debian's slapd) with the reference tree: people under ou=people, a search account for
# Fingerpost and the provider. LDAPS on 636 with the certificate from make-certs.sh.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends slapd ldap-utils && rm -rf /var/lib/apt/lists/*
COPY slapd.conf /etc/ldap/reference.conf
COPY people.ldif /etc/ldap/people.ldif
RUN mkdir -p /var/lib/ldap/reference && slapadd -f /etc/ldap/reference.conf -l /etc/ldap/people.ldif \
  && chown -R openldap:openldap /var/lib/ldap/reference
EXPOSE 636
CMD ["slapd", "-d", "0", "-u", "openldap", "-g", "openldap", "-f", "/etc/ldap/reference.conf", "-h", "ldaps:///"]
