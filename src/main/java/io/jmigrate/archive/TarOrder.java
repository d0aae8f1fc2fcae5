package io.jmigrate.archive;

import java.util.Comparator;

/**
 * The order of entries in a volume tar and in a volume's metadata stream (docs/repository-format.md, "The
 * metadata stream of a volume"): depth first, each directory's children sorted by the bytes of their UTF-8 names,
 * so a directory comes right before its contents. This is the order {@link VolumeArchive#write} produces.
 *
 * <p>Paths are in the tar form ({@code ./}, {@code ./a/}, {@code ./a/b}). Comparing them as plain strings is
 * wrong: {@code ./a-} sorts before {@code ./a/} as strings ('-' is 0x2d, '/' is 0x2f), but in a walk the whole
 * of {@code a/} comes first, since its name {@code a} sorts before {@code a-}. So '/' compares below every other
 * character, which makes the comparison component by component. Unsigned UTF-8 byte order is code point order,
 * so code points are compared directly, without encoding.
 */
public final class TarOrder {
  /** Orders tar-form paths as a volume walk visits them. */
  public static final Comparator<String> PATHS = TarOrder::compare;

  private TarOrder() {}

  /** Negative, zero or positive as {@code a} comes before, at, or after {@code b} in tar order. */
  public static int compare(String a, String b) {
    int i = 0;
    int j = 0;
    int na = a.length();
    int nb = b.length();
    while (i < na && j < nb) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return rank(ca) - rank(cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    // A path that is a prefix of the other comes first: a directory before its contents.
    return Integer.compare(na - i, nb - j);
  }

  /** '/' ends a component, so it sorts below every character a name can hold (names hold no '/' or NUL). */
  private static int rank(int codePoint) {
    return codePoint == '/' ? -1 : codePoint;
  }
}
