namespace HeteroBatch.Engine.Tests; public class Smoke { [Xunit.Fact] public void Ok() { var s = new Microsoft.ML.OnnxRuntime.SessionOptions(); Xunit.Assert.NotNull(s); } }
