package io.jmigrate.cli;

import io.jmigrate.backup.Consistency;
import io.jmigrate.backup.VolumeSources;
import io.jmigrate.job.Durations;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.restore.VolumeRenames;
import io.jmigrate.store.StoreOptions;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Typed option values. picocli runs a converter while it parses, so a bad value is a parameter error: its message
 * ("Invalid value for option '--consistency': …") and exit code 2, before anything is opened or touched.
 */
final class Converters {
  private Converters() {}

  /**
   * An enum written in lower case, as the options document it (picocli's own enum converter lists the upper-case
   * constant names, which are not what users type).
   */
  abstract static class LowerCaseEnum<E extends Enum<E>> implements ITypeConverter<E> {
    private final Class<E> type;

    LowerCaseEnum(Class<E> type) {
      this.type = type;
    }

    @Override
    public E convert(String value) {
      String v = value == null ? "" : value.strip();
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(v)) {
          return e;
        }
      }
      throw new TypeConversionException("expected one of " + choices(type) + " but was '" + value + "'");
    }

    static String choices(Class<? extends Enum<?>> type) {
      return Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT))
          .collect(Collectors.joining(", "));
    }
  }

  /** --consistency: pause, stop or none. */
  static final class ConsistencyConverter extends LowerCaseEnum<Consistency> {
    ConsistencyConverter() {
      super(Consistency.class);
    }
  }

  /** --volume-reader: auto, direct or archive. */
  static final class ReaderConverter extends LowerCaseEnum<VolumeSources.Reader> {
    ReaderConverter() {
      super(VolumeSources.Reader.class);
    }
  }

  /** --volume-writer: auto, direct or archive. */
  static final class WriterConverter extends LowerCaseEnum<RestoreRunner.VolumeWriter> {
    WriterConverter() {
      super(RestoreRunner.VolumeWriter.class);
    }
  }

  /** --s3-chunked-signing: auto, on or off. */
  static final class ChunkedSigningConverter extends LowerCaseEnum<StoreOptions.ChunkedSigning> {
    ChunkedSigningConverter() {
      super(StoreOptions.ChunkedSigning.class);
    }
  }

  /** --volume-prefix: what can start a Docker volume name ({@link VolumeRenames#checkPrefix}). */
  static final class VolumePrefixConverter implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      try {
        VolumeRenames.checkPrefix(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
      return value;
    }
  }

  /** Durations as job files write them ({@link Durations}): 30s, 5m, 1h30m, PT5M. */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      Duration d;
      try {
        d = Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
      if (d.isNegative()) {
        throw new TypeConversionException("a duration must not be negative, but was '" + value + "'");
      }
      return d;
    }
  }

  /** A whole number of 0 or more (seconds to wait, where 0 means "do not wait"). */
  static final class NonNegative implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      long n = number(value);
      if (n < 0) {
        throw new TypeConversionException("must be 0 or more, but was '" + value + "'");
      }
      return n;
    }
  }

  /** A whole number above 0 (a timeout that must leave some time). */
  static final class Positive implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      long n = number(value);
      if (n <= 0) {
        throw new TypeConversionException("must be above 0, but was '" + value + "'");
      }
      return n;
    }
  }

  private static long number(String value) {
    try {
      return Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("expected a whole number but was '" + value + "'");
    }
  }

  /** An IANA time zone name (java.time's ZoneId). */
  static final class ZoneConverter implements ITypeConverter<ZoneId> {
    @Override
    public ZoneId convert(String value) {
      try {
        return ZoneId.of(value.strip());
      } catch (DateTimeException e) {
        throw new TypeConversionException("unknown time zone '" + value
            + "'; use an IANA name such as UTC or Europe/Berlin");
      }
    }
  }
}
