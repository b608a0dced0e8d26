using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Models;
using HeteroBatch.Engine.Units;
using Microsoft.ML.OnnxRuntime;

namespace HeteroBatch.Engine.Backends;

/// <summary>Opens ONNX Runtime sessions with the engine's error mapping and checks the model's names.</summary>
internal static class OrtSessionFactory
{
    public static InferenceSession Open(ModelInfo model, ComputeUnit unit, SessionOptions sessionOptions)
    {
        if (!File.Exists(model.Path))
            throw new HeteroBatchException(Models.ModelErrorIds.ModelNotFound, ErrorKind.ObjectNotFound,
                $"The ONNX file of {model.Name} is missing: {model.Path}. Resolve the model again (Get-HeteroModel) to rebuild it.",
                model.Path);
        InferenceSession session;
        try
        {
            session = new InferenceSession(model.Path, sessionOptions);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or OutOfMemoryException)
        {
            throw OrtErrorMapper.Map(ex, OrtStage.Load, unit, model);
        }

        if (!session.InputMetadata.ContainsKey(model.InputName) || !session.OutputMetadata.ContainsKey(model.OutputName))
        {
            var inputs = string.Join(", ", session.InputMetadata.Keys);
            var outputs = string.Join(", ", session.OutputMetadata.Keys);
            session.Dispose();
            throw new HeteroBatchException(BackendErrorIds.ModelLoadFailed, ErrorKind.InvalidData,
                $"{model.Path} has inputs [{inputs}] and outputs [{outputs}], not the '{model.InputName}' → '{model.OutputName}' its model description names. Resolve the model again.",
                model.Path);
        }
        return session;
    }
}
