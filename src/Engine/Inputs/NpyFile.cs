using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using HeteroBatch.Engine.Errors;

namespace HeteroBatch.Engine.Inputs;

/// <summary>Header of a NumPy <c>.npy</c> file: element type, layout, shape, and where the data starts.</summary>
public sealed record NpyHeader(string Descr, bool FortranOrder, int[] Shape, long DataOffset)
{
    /// <summary>Number of elements the shape holds (1 for a 0-d array).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    /// <summary>True for the one type the engine reads: little-endian float32 in C order.</summary>
    public bool IsFloat32COrder => !FortranOrder && (Descr == "<f4" || (Descr == "=f4" && BitConverter.IsLittleEndian));
}

/// <summary>
/// Reader and writer of the NumPy <c>.npy</c> format (versions 1.0–3.0), limited to what batches need:
/// float32, little-endian, C order. Written files use version 1.0 (2.0 for very long headers) with the
/// header padded to 64 bytes, as NumPy itself writes them, so <c>numpy.load</c> reads them back.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>Reads the header of <paramref name="path"/>. Throws <c>InputNotFound</c> or <c>NpyFormatInvalid</c>.</summary>
    public static NpyHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads a whole float32 file: its shape and data.</summary>
    public static (float[] Data, int[] Shape) Read(string path)
    {
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        RequireFloat32(header, path);
        var data = new float[checked((int)header.ElementCount)];
        ReadData(stream, header, data, path);
        return (data, header.Shape);
    }

    /// <summary>Reads the data of a float32 file straight into <paramref name="destination"/>, which must
    /// hold exactly the header's element count (used to stack several files into one batch buffer).</summary>
    public static void ReadInto(string path, Span<float> destination)
    {
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        RequireFloat32(header, path);
        if (header.ElementCount != destination.Length)
            throw new HeteroBatchException(InputErrorIds.NpyFormatInvalid, ErrorKind.InvalidData,
                $"'{path}' changed while it was read: it now holds {header.ElementCount} values, not {destination.Length}.", path);
        ReadData(stream, header, destination, path);
    }

    /// <summary>
    /// Fails at once with <c>OutputWriteFailed</c> (WriteError, naming the folder) when <see cref="Write"/> could not write
    /// <paramref name="path"/>: the path is a folder, or its folder cannot be created or written. Call it before the
    /// work whose output goes there. Creates the folder, as Write would; leaves no file behind.
    /// </summary>
    public static void CheckWritable(string path)
    {
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new HeteroBatchException(InputErrorIds.OutputWriteFailed, ErrorKind.WriteError,
                $"The output path '{path}' is not a valid file path: {e.Message}", path, e);
        }
        if (Directory.Exists(full))
            throw new HeteroBatchException(InputErrorIds.OutputWriteFailed, ErrorKind.WriteError,
                $"The output path '{full}' is a folder; give the path of a .npy file, e.g. '{Path.Combine(full, "outputs.npy")}'.", path);
        var directory = Path.GetDirectoryName(full)!;
        var probe = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".probe");
        try
        {
            Directory.CreateDirectory(directory);
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            TryDelete(probe);
            throw new HeteroBatchException(InputErrorIds.OutputWriteFailed, ErrorKind.WriteError,
                $"Cannot write the output to the folder '{directory}': {e.Message} Give -OutputPath a file in a writable folder.", directory, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> with <paramref name="shape"/> to <paramref name="path"/> atomically: the
    /// bytes go to a temporary file beside it that is renamed over the target only once complete, so a failure
    /// never leaves a partial file. Throws <c>OutputWriteFailed</c>.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> data, IReadOnlyList<int> shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
            throw new ArgumentException($"Shape ({string.Join(",", shape)}) holds {count} values but {data.Length} were given.", nameof(shape));

        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new HeteroBatchException(InputErrorIds.OutputWriteFailed, ErrorKind.WriteError,
                $"The output path '{path}' is not a valid file path: {e.Message}", path, e);
        }
        var directory = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            Directory.CreateDirectory(directory);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                stream.Write(BuildHeader(shape));
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Writing .npy needs a little-endian machine.");
                stream.Write(MemoryMarshal.AsBytes(data));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            TryDelete(temp);
            throw new HeteroBatchException(InputErrorIds.OutputWriteFailed, ErrorKind.WriteError,
                $"Could not write the output tensor to '{full}': {e.Message} Check that the folder exists and is writable.", path, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>The bytes of a version 1.0 (or 2.0) header for a float32 C-order array of <paramref name="shape"/>.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<int> shape)
    {
        var shapeText = shape.Count switch
        {
            0 => "()",
            1 => "(" + shape[0].ToString(CultureInfo.InvariantCulture) + ",)",
            _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText + ", }";
        // Version 1.0 stores the header length in 2 bytes; the whole preamble is padded to a multiple of 64.
        int preamble = Magic.Length + 2 + 2;
        int major = 1;
        if (preamble + dict.Length + 1 > ushort.MaxValue) { major = 2; preamble = Magic.Length + 2 + 4; }
        int total = preamble + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        var headerText = dict + new string(' ', padded - total) + "\n";

        var bytes = new byte[padded];
        Magic.CopyTo(bytes, 0);
        bytes[6] = (byte)major;
        bytes[7] = 0;
        int headerLength = headerText.Length;
        if (major == 1) { bytes[8] = (byte)headerLength; bytes[9] = (byte)(headerLength >> 8); }
        else BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), headerLength);
        Encoding.ASCII.GetBytes(headerText, 0, headerText.Length, bytes, preamble);
        return bytes;
    }

    internal static NpyHeader ReadHeader(Stream stream, string path)
    {
        Span<byte> start = stackalloc byte[8];
        if (!TryReadExactly(stream, start) || !start[..6].SequenceEqual(Magic))
            throw Corrupt(path, "it does not start with the .npy magic bytes");
        int major = start[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> len = stackalloc byte[2];
            if (!TryReadExactly(stream, len)) throw Corrupt(path, "its header is cut short");
            headerLength = len[0] | (len[1] << 8);
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            if (!TryReadExactly(stream, len)) throw Corrupt(path, "its header is cut short");
            headerLength = BitConverter.ToInt32(len);
            if (headerLength < 0 || headerLength > 1 << 24) throw Corrupt(path, "its header length is implausible");
        }
        else throw Corrupt(path, $"its format version {major}.{start[7]} is unknown");

        var headerBytes = new byte[headerLength];
        if (!TryReadExactly(stream, headerBytes)) throw Corrupt(path, "its header is cut short");
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var descr = ReadValue(text, "descr", path);
        var fortran = ReadValue(text, "fortran_order", path);
        var shapeText = ReadValue(text, "shape", path);
        descr = descr.Trim('\'', '"');
        bool fortranOrder = fortran switch
        {
            "True" => true,
            "False" => false,
            _ => throw Corrupt(path, $"its fortran_order '{fortran}' is not True or False"),
        };
        if (!shapeText.StartsWith('(') || !shapeText.EndsWith(')')) throw Corrupt(path, $"its shape '{shapeText}' is not a tuple");
        var dims = shapeText[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            var dim = dims[i].TrimEnd('L');
            if (!int.TryParse(dim, NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw Corrupt(path, $"its shape '{shapeText}' has a dimension that is not a non-negative integer");
        }
        return new NpyHeader(descr, fortranOrder, shape, stream.Position);
    }

    private static string ReadValue(string header, string key, string path)
    {
        var marker = "'" + key + "'";
        int at = header.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) throw Corrupt(path, $"its header has no '{key}'");
        int colon = header.IndexOf(':', at + marker.Length);
        if (colon < 0) throw Corrupt(path, $"its header entry '{key}' has no value");
        int i = colon + 1;
        while (i < header.Length && char.IsWhiteSpace(header[i])) i++;
        if (i >= header.Length) throw Corrupt(path, $"its header entry '{key}' has no value");
        int end;
        if (header[i] == '(')
        {
            end = header.IndexOf(')', i);
            if (end < 0) throw Corrupt(path, "its shape tuple is not closed");
            return header[i..(end + 1)];
        }
        if (header[i] is '\'' or '"')
        {
            end = header.IndexOf(header[i], i + 1);
            if (end < 0) throw Corrupt(path, $"its header entry '{key}' is not closed");
            return header[i..(end + 1)];
        }
        end = i;
        while (end < header.Length && header[end] != ',' && header[end] != '}') end++;
        return header[i..end].Trim();
    }

    internal static void RequireFloat32(NpyHeader header, string path)
    {
        if (header.FortranOrder)
            throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                $"'{path}' is stored in Fortran (column-major) order; save it in C order (numpy.ascontiguousarray) as float32.", path);
        if (!header.IsFloat32COrder)
            throw new HeteroBatchException(InputErrorIds.UnsupportedInputType, ErrorKind.InvalidArgument,
                $"'{path}' holds elements of type '{header.Descr}'; inputs must be little-endian float32 ('<f4'). Convert with arr.astype(numpy.float32).", path);
    }

    private static void ReadData(Stream stream, NpyHeader header, Span<float> destination, string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Reading .npy needs a little-endian machine.");
        if (!TryReadExactly(stream, MemoryMarshal.AsBytes(destination)))
            throw Corrupt(path, $"it is shorter than its shape ({string.Join(",", header.Shape)}) says");
    }

    private static FileStream OpenRead(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new HeteroBatchException(InputErrorIds.InputNotFound, ErrorKind.ObjectNotFound,
                $"The input file '{path}' does not exist.", path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new HeteroBatchException(InputErrorIds.InputReadFailed, ErrorKind.ReadError,
                $"Could not open the input file '{path}': {e.Message}", path, e);
        }
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException) { return false; }
    }

    private static HeteroBatchException Corrupt(string path, string why) =>
        new(InputErrorIds.NpyFormatInvalid, ErrorKind.InvalidData,
            $"'{path}' is not a valid .npy file: {why}. Save tensors with numpy.save as float32.", path);

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
