package io.jmigrate.blob;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A sha256 content digest in the OCI form {@code sha256:<64 lowercase hex>}.
 *
 * <p>Only sha256 is accepted: it is the only algorithm Docker 20.10 and distribution 2.8 use for layers and
 * manifests (OCI image-spec, descriptor.md, "Registered algorithms").
 */
public final class Digest implements Comparable<Digest> {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
  private static final String PREFIX = "sha256:";

  private final String hex;

  private Digest(String hex) {
    this.hex = hex;
  }

  /** Parses {@code sha256:<hex>}; the message names the bad input. */
  @JsonCreator
  public static Digest parse(String value) {
    if (value == null) {
      throw new IllegalArgumentException("digest is missing");
    }
    if (!value.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a sha256 digest: '" + value + "'");
    }
    return ofHex(value.substring(PREFIX.length()));
  }

  /** Takes the 64 hex characters without the algorithm prefix. */
  public static Digest ofHex(String hex) {
    if (hex == null || !HEX.matcher(hex).matches()) {
      throw new IllegalArgumentException("not 64 lowercase hex characters: '" + hex + "'");
    }
    return new Digest(hex);
  }

  /** Computes the digest of a small byte array (documents, configs, manifests). */
  public static Digest of(byte[] bytes) {
    MessageDigest md = newSha256();
    return new Digest(HexFormat.of().formatHex(md.digest(bytes)));
  }

  /** Wraps a finished {@link MessageDigest}. */
  public static Digest of(MessageDigest finished) {
    return new Digest(HexFormat.of().formatHex(finished.digest()));
  }

  /** A new sha256 {@link MessageDigest}; every JRE has one. */
  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JRE has no SHA-256", e);
    }
  }

  /** True when {@code value} parses as a digest. */
  public static boolean isValid(String value) {
    return value != null && value.startsWith(PREFIX) && HEX.matcher(value.substring(PREFIX.length())).matches();
  }

  public String algorithm() {
    return "sha256";
  }

  public String hex() {
    return hex;
  }

  /** The first {@code n} hex characters, as used for short ids. */
  public String shortHex(int n) {
    return hex.substring(0, Math.min(n, hex.length()));
  }

  @Override
  @JsonValue
  public String toString() {
    return PREFIX + hex;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Digest && ((Digest) o).hex.equals(hex);
  }

  @Override
  public int hashCode() {
    return Objects.hash(hex);
  }

  @Override
  public int compareTo(Digest o) {
    return hex.compareTo(o.hex);
  }
}
