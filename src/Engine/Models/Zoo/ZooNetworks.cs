namespace HeteroBatch.Engine.Models.Zoo;

/// <summary>
/// One network of the zoo: its names, facts, and the function that lays out its layers.
/// <see cref="ReferenceParameterCount"/> is the published figure (torchvision / the original paper)
/// the generated graph is checked against.
/// </summary>
internal sealed record ZooDefinition(
    string Name,
    string[] Aliases,
    string Description,
    int[] InputItemShape,
    int Classes,
    long ReferenceParameterCount,
    Func<NetworkBuilder, string, string> Build);

/// <summary>
/// The seed paper's ten networks plus <c>tinynet</c>, laid out layer for layer as the torchvision
/// definitions (MobileNet v1 as in the MobileNets paper). Dropout is omitted (identity at inference);
/// torchvision's AdaptiveAvgPool2d is GlobalAveragePool where it pools to 1×1 and is left out for VGG,
/// where it pools 7×7 to 7×7 at 224×224 input.
/// </summary>
internal static class ZooNetworks
{
    /// <summary>Scale of the last BatchNormalization of every residual branch (keeps variance bounded with depth).</summary>
    internal const double ResidualBranchScale = 0.25;

    public static readonly IReadOnlyList<ZooDefinition> All =
    [
        new("mobilenet", ["mobilenetv1", "mobilenet1", "mobilenetv10", "mobilenet10"],
            "MobileNet v1 (width 1.0, 224x224): depthwise-separable convolutions, BatchNorm, ReLU.",
            [3, 224, 224], 1000, 4_231_976, MobileNetV1),
        new("squeezenet_v1.0", ["squeezenetv10", "squeezenet10"],
            "SqueezeNet 1.0 (torchvision squeezenet1_0): Fire modules, no BatchNorm.",
            [3, 224, 224], 1000, 1_248_424, (b, x) => SqueezeNet(b, x, v11: false)),
        new("squeezenet_v1.1", ["squeezenetv11", "squeezenet11"],
            "SqueezeNet 1.1 (torchvision squeezenet1_1): Fire modules, 2.4x fewer FLOPs than 1.0.",
            [3, 224, 224], 1000, 1_235_496, (b, x) => SqueezeNet(b, x, v11: true)),
        new("resnet-18", ["resnet18"],
            "ResNet-18 (torchvision resnet18): BasicBlock [2,2,2,2].",
            [3, 224, 224], 1000, 11_689_512, (b, x) => ResNet(b, x, [2, 2, 2, 2], bottleneck: false)),
        new("resnet-34", ["resnet34"],
            "ResNet-34 (torchvision resnet34): BasicBlock [3,4,6,3].",
            [3, 224, 224], 1000, 21_797_672, (b, x) => ResNet(b, x, [3, 4, 6, 3], bottleneck: false)),
        new("resnet-50", ["resnet50"],
            "ResNet-50 v1.5 (torchvision resnet50): Bottleneck [3,4,6,3], stride on the 3x3 convolution.",
            [3, 224, 224], 1000, 25_557_032, (b, x) => ResNet(b, x, [3, 4, 6, 3], bottleneck: true)),
        new("inception_v3", ["inceptionv3", "inception3"],
            "Inception v3 (torchvision inception_v3, 299x299) without the auxiliary classifier, which only training uses.",
            [3, 299, 299], 1000, 23_834_568, InceptionV3),
        new("vgg-16", ["vgg16"],
            "VGG-16 (torchvision vgg16, configuration D, no BatchNorm).",
            [3, 224, 224], 1000, 138_357_544, (b, x) => Vgg(b, x, [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0])),
        new("vgg-19", ["vgg19"],
            "VGG-19 (torchvision vgg19, configuration E, no BatchNorm).",
            [3, 224, 224], 1000, 143_667_240, (b, x) => Vgg(b, x, [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0])),
        new("densenet-121", ["densenet121"],
            "DenseNet-121 (torchvision densenet121): growth 32, blocks [6,12,24,16], BN-ReLU-Conv order.",
            [3, 224, 224], 1000, 7_978_856, DenseNet121),
        new("tinynet", ["tiny"],
            "Small fast test network (3x32x32 input, 10 classes): three 3x3 convolutions, pooling, one linear layer.",
            [3, 32, 32], 10, 24_234, TinyNet),
    ];

    private static string TinyNet(NetworkBuilder b, string x)
    {
        x = b.Relu(b.Conv(x, "conv1", 3, 16, 3, padding: 1, bias: true), "relu1");
        x = b.MaxPool(x, "pool1", 2, 2);
        x = b.Relu(b.Conv(x, "conv2", 16, 32, 3, padding: 1, bias: true), "relu2");
        x = b.MaxPool(x, "pool2", 2, 2);
        x = b.Relu(b.Conv(x, "conv3", 32, 64, 3, padding: 1, bias: true), "relu3");
        x = b.GlobalAveragePool(x, "avgpool");
        x = b.Flatten(x, "flatten");
        return b.Linear(x, "fc", 64, 10);
    }

    private static string MobileNetV1(NetworkBuilder b, string x)
    {
        string ConvBnRelu(string input, string name, int inC, int outC, int kernel, int stride, int groups)
        {
            var y = b.Conv(input, $"{name}.conv", inC, outC, kernel, stride, kernel / 2, groups);
            y = b.BatchNorm(y, $"{name}.bn", outC);
            return b.Relu(y, $"{name}.relu");
        }

        x = ConvBnRelu(x, "model.0", 3, 32, 3, 2, 1);
        (int In, int Out, int Stride)[] separable =
        [
            (32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 1024, 2), (1024, 1024, 1),
        ];
        for (int i = 0; i < separable.Length; i++)
        {
            var (inC, outC, stride) = separable[i];
            x = ConvBnRelu(x, $"model.{i + 1}.dw", inC, inC, 3, stride, groups: inC);
            x = ConvBnRelu(x, $"model.{i + 1}.pw", inC, outC, 1, 1, groups: 1);
        }
        x = b.GlobalAveragePool(x, "avgpool");
        x = b.Flatten(x, "flatten");
        return b.Linear(x, "fc", 1024, 1000);
    }

    private static string SqueezeNet(NetworkBuilder b, string x, bool v11)
    {
        int channels = 0;
        string Fire(string input, string name, int inC, int squeeze, int expand1, int expand3)
        {
            var s = b.Relu(b.Conv(input, $"{name}.squeeze", inC, squeeze, 1, bias: true), $"{name}.squeeze_activation");
            var e1 = b.Relu(b.Conv(s, $"{name}.expand1x1", squeeze, expand1, 1, bias: true), $"{name}.expand1x1_activation");
            var e3 = b.Relu(b.Conv(s, $"{name}.expand3x3", squeeze, expand3, 3, padding: 1, bias: true), $"{name}.expand3x3_activation");
            channels = expand1 + expand3;
            return b.Concat($"{name}.cat", e1, e3);
        }

        if (!v11)
        {
            x = b.Relu(b.Conv(x, "features.0", 3, 96, 7, stride: 2, bias: true), "features.1");
            x = b.MaxPool(x, "features.2", 3, 2, ceilMode: true);
            x = Fire(x, "features.3", 96, 16, 64, 64);
            x = Fire(x, "features.4", 128, 16, 64, 64);
            x = Fire(x, "features.5", 128, 32, 128, 128);
            x = b.MaxPool(x, "features.6", 3, 2, ceilMode: true);
            x = Fire(x, "features.7", 256, 32, 128, 128);
            x = Fire(x, "features.8", 256, 48, 192, 192);
            x = Fire(x, "features.9", 384, 48, 192, 192);
            x = Fire(x, "features.10", 384, 64, 256, 256);
            x = b.MaxPool(x, "features.11", 3, 2, ceilMode: true);
            x = Fire(x, "features.12", 512, 64, 256, 256);
        }
        else
        {
            x = b.Relu(b.Conv(x, "features.0", 3, 64, 3, stride: 2, bias: true), "features.1");
            x = b.MaxPool(x, "features.2", 3, 2, ceilMode: true);
            x = Fire(x, "features.3", 64, 16, 64, 64);
            x = Fire(x, "features.4", 128, 16, 64, 64);
            x = b.MaxPool(x, "features.5", 3, 2, ceilMode: true);
            x = Fire(x, "features.6", 128, 32, 128, 128);
            x = Fire(x, "features.7", 256, 32, 128, 128);
            x = b.MaxPool(x, "features.8", 3, 2, ceilMode: true);
            x = Fire(x, "features.9", 256, 48, 192, 192);
            x = Fire(x, "features.10", 384, 48, 192, 192);
            x = Fire(x, "features.11", 384, 64, 256, 256);
            x = Fire(x, "features.12", 512, 64, 256, 256);
        }
        x = b.Relu(b.Conv(x, "classifier.1", channels, 1000, 1, bias: true), "classifier.2");
        x = b.GlobalAveragePool(x, "classifier.3");
        return b.Flatten(x, "flatten");
    }

    private static string ResNet(NetworkBuilder b, string x, int[] blocks, bool bottleneck)
    {
        int expansion = bottleneck ? 4 : 1;
        x = b.Conv(x, "conv1", 3, 64, 7, stride: 2, padding: 3);
        x = b.Relu(b.BatchNorm(x, "bn1", 64), "relu");
        x = b.MaxPool(x, "maxpool", 3, 2, padding: 1);

        int inC = 64;
        for (int layer = 0; layer < blocks.Length; layer++)
        {
            int width = 64 << layer;
            for (int block = 0; block < blocks[layer]; block++)
            {
                string p = $"layer{layer + 1}.{block}";
                int stride = layer > 0 && block == 0 ? 2 : 1;
                int outC = width * expansion;
                string identity = x;
                string y;
                if (bottleneck)
                {
                    y = b.Relu(b.BatchNorm(b.Conv(x, $"{p}.conv1", inC, width, 1), $"{p}.bn1", width), $"{p}.relu1");
                    y = b.Relu(b.BatchNorm(b.Conv(y, $"{p}.conv2", width, width, 3, stride, 1), $"{p}.bn2", width), $"{p}.relu2");
                    y = b.BatchNorm(b.Conv(y, $"{p}.conv3", width, outC, 1), $"{p}.bn3", outC, scale: ResidualBranchScale);
                }
                else
                {
                    y = b.Relu(b.BatchNorm(b.Conv(x, $"{p}.conv1", inC, width, 3, stride, 1), $"{p}.bn1", width), $"{p}.relu1");
                    y = b.BatchNorm(b.Conv(y, $"{p}.conv2", width, outC, 3, 1, 1), $"{p}.bn2", outC, scale: ResidualBranchScale);
                }
                if (stride != 1 || inC != outC)
                    identity = b.BatchNorm(b.Conv(x, $"{p}.downsample.0", inC, outC, 1, stride), $"{p}.downsample.1", outC);
                x = b.Relu(b.Add(y, identity, $"{p}.add"), $"{p}.relu");
                inC = outC;
            }
        }
        x = b.GlobalAveragePool(x, "avgpool");
        x = b.Flatten(x, "flatten");
        return b.Linear(x, "fc", inC, 1000);
    }

    private static string Vgg(NetworkBuilder b, string x, int[] configuration)
    {
        int inC = 3, index = 0;
        foreach (int item in configuration)
        {
            if (item == 0)
            {
                x = b.MaxPool(x, $"features.{index++}", 2, 2);
            }
            else
            {
                x = b.Conv(x, $"features.{index++}", inC, item, 3, padding: 1, bias: true);
                x = b.Relu(x, $"features.{index++}");
                inC = item;
            }
        }
        x = b.Flatten(x, "flatten");
        x = b.Relu(b.Linear(x, "classifier.0", 512 * 7 * 7, 4096), "classifier.1");
        x = b.Relu(b.Linear(x, "classifier.3", 4096, 4096), "classifier.4");
        return b.Linear(x, "classifier.6", 4096, 1000);
    }

    private static string DenseNet121(NetworkBuilder b, string x)
    {
        const int growth = 32, bottleneckWidth = 4 * growth;
        int[] blocks = [6, 12, 24, 16];
        x = b.Conv(x, "features.conv0", 3, 64, 7, stride: 2, padding: 3);
        x = b.Relu(b.BatchNorm(x, "features.norm0", 64), "features.relu0");
        x = b.MaxPool(x, "features.pool0", 3, 2, padding: 1);

        int channels = 64;
        for (int blockIndex = 0; blockIndex < blocks.Length; blockIndex++)
        {
            for (int layer = 1; layer <= blocks[blockIndex]; layer++)
            {
                string p = $"features.denseblock{blockIndex + 1}.denselayer{layer}";
                var y = b.Relu(b.BatchNorm(x, $"{p}.norm1", channels), $"{p}.relu1");
                y = b.Conv(y, $"{p}.conv1", channels, bottleneckWidth, 1);
                y = b.Relu(b.BatchNorm(y, $"{p}.norm2", bottleneckWidth), $"{p}.relu2");
                y = b.Conv(y, $"{p}.conv2", bottleneckWidth, growth, 3, padding: 1);
                // torchvision concatenates all earlier features before each layer; appending one
                // feature map at a time yields the same tensor with fewer copies.
                x = b.Concat($"{p}.cat", x, y);
                channels += growth;
            }
            if (blockIndex < blocks.Length - 1)
            {
                string p = $"features.transition{blockIndex + 1}";
                x = b.Relu(b.BatchNorm(x, $"{p}.norm", channels), $"{p}.relu");
                x = b.Conv(x, $"{p}.conv", channels, channels / 2, 1);
                x = b.AveragePool(x, $"{p}.pool", 2, 2);
                channels /= 2;
            }
        }
        x = b.Relu(b.BatchNorm(x, "features.norm5", channels), "features.relu5");
        x = b.GlobalAveragePool(x, "avgpool");
        x = b.Flatten(x, "flatten");
        return b.Linear(x, "classifier", channels, 1000);
    }

    private static string InceptionV3(NetworkBuilder b, string x)
    {
        string Basic(string input, string name, int inC, int outC, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
        {
            var y = b.Conv(input, $"{name}.conv", inC, outC, kernel, stride, padding);
            return b.Relu(b.BatchNorm(y, $"{name}.bn", outC, epsilon: 0.001), $"{name}.relu");
        }
        string C(string input, string name, int inC, int outC, int kernel, int stride = 1, int padding = 0)
            => Basic(input, name, inC, outC, (kernel, kernel), (stride, stride), (padding, padding));

        string InceptionA(string input, string n, int inC, int poolFeatures)
        {
            var b1 = C(input, $"{n}.branch1x1", inC, 64, 1);
            var b5 = C(input, $"{n}.branch5x5_1", inC, 48, 1);
            b5 = C(b5, $"{n}.branch5x5_2", 48, 64, 5, padding: 2);
            var b3 = C(input, $"{n}.branch3x3dbl_1", inC, 64, 1);
            b3 = C(b3, $"{n}.branch3x3dbl_2", 64, 96, 3, padding: 1);
            b3 = C(b3, $"{n}.branch3x3dbl_3", 96, 96, 3, padding: 1);
            var bp = b.AveragePool(input, $"{n}.branch_pool.avg", 3, 1, 1);
            bp = C(bp, $"{n}.branch_pool", inC, poolFeatures, 1);
            return b.Concat($"{n}.cat", b1, b5, b3, bp);
        }

        string InceptionB(string input, string n, int inC)
        {
            var b3 = C(input, $"{n}.branch3x3", inC, 384, 3, stride: 2);
            var bd = C(input, $"{n}.branch3x3dbl_1", inC, 64, 1);
            bd = C(bd, $"{n}.branch3x3dbl_2", 64, 96, 3, padding: 1);
            bd = C(bd, $"{n}.branch3x3dbl_3", 96, 96, 3, stride: 2);
            var bp = b.MaxPool(input, $"{n}.branch_pool", 3, 2);
            return b.Concat($"{n}.cat", b3, bd, bp);
        }

        string InceptionC(string input, string n, int inC, int c7)
        {
            var b1 = C(input, $"{n}.branch1x1", inC, 192, 1);
            var b7 = C(input, $"{n}.branch7x7_1", inC, c7, 1);
            b7 = Basic(b7, $"{n}.branch7x7_2", c7, c7, (1, 7), (1, 1), (0, 3));
            b7 = Basic(b7, $"{n}.branch7x7_3", c7, 192, (7, 1), (1, 1), (3, 0));
            var bd = C(input, $"{n}.branch7x7dbl_1", inC, c7, 1);
            bd = Basic(bd, $"{n}.branch7x7dbl_2", c7, c7, (7, 1), (1, 1), (3, 0));
            bd = Basic(bd, $"{n}.branch7x7dbl_3", c7, c7, (1, 7), (1, 1), (0, 3));
            bd = Basic(bd, $"{n}.branch7x7dbl_4", c7, c7, (7, 1), (1, 1), (3, 0));
            bd = Basic(bd, $"{n}.branch7x7dbl_5", c7, 192, (1, 7), (1, 1), (0, 3));
            var bp = b.AveragePool(input, $"{n}.branch_pool.avg", 3, 1, 1);
            bp = C(bp, $"{n}.branch_pool", inC, 192, 1);
            return b.Concat($"{n}.cat", b1, b7, bd, bp);
        }

        string InceptionD(string input, string n, int inC)
        {
            var b3 = C(input, $"{n}.branch3x3_1", inC, 192, 1);
            b3 = C(b3, $"{n}.branch3x3_2", 192, 320, 3, stride: 2);
            var b7 = C(input, $"{n}.branch7x7x3_1", inC, 192, 1);
            b7 = Basic(b7, $"{n}.branch7x7x3_2", 192, 192, (1, 7), (1, 1), (0, 3));
            b7 = Basic(b7, $"{n}.branch7x7x3_3", 192, 192, (7, 1), (1, 1), (3, 0));
            b7 = C(b7, $"{n}.branch7x7x3_4", 192, 192, 3, stride: 2);
            var bp = b.MaxPool(input, $"{n}.branch_pool", 3, 2);
            return b.Concat($"{n}.cat", b3, b7, bp);
        }

        string InceptionE(string input, string n, int inC)
        {
            var b1 = C(input, $"{n}.branch1x1", inC, 320, 1);
            var b3 = C(input, $"{n}.branch3x3_1", inC, 384, 1);
            var b3a = Basic(b3, $"{n}.branch3x3_2a", 384, 384, (1, 3), (1, 1), (0, 1));
            var b3b = Basic(b3, $"{n}.branch3x3_2b", 384, 384, (3, 1), (1, 1), (1, 0));
            b3 = b.Concat($"{n}.branch3x3_cat", b3a, b3b);
            var bd = C(input, $"{n}.branch3x3dbl_1", inC, 448, 1);
            bd = C(bd, $"{n}.branch3x3dbl_2", 448, 384, 3, padding: 1);
            var bda = Basic(bd, $"{n}.branch3x3dbl_3a", 384, 384, (1, 3), (1, 1), (0, 1));
            var bdb = Basic(bd, $"{n}.branch3x3dbl_3b", 384, 384, (3, 1), (1, 1), (1, 0));
            bd = b.Concat($"{n}.branch3x3dbl_cat", bda, bdb);
            var bp = b.AveragePool(input, $"{n}.branch_pool.avg", 3, 1, 1);
            bp = C(bp, $"{n}.branch_pool", inC, 192, 1);
            return b.Concat($"{n}.cat", b1, b3, bd, bp);
        }

        x = C(x, "Conv2d_1a_3x3", 3, 32, 3, stride: 2);
        x = C(x, "Conv2d_2a_3x3", 32, 32, 3);
        x = C(x, "Conv2d_2b_3x3", 32, 64, 3, padding: 1);
        x = b.MaxPool(x, "maxpool1", 3, 2);
        x = C(x, "Conv2d_3b_1x1", 64, 80, 1);
        x = C(x, "Conv2d_4a_3x3", 80, 192, 3);
        x = b.MaxPool(x, "maxpool2", 3, 2);
        x = InceptionA(x, "Mixed_5b", 192, 32);
        x = InceptionA(x, "Mixed_5c", 256, 64);
        x = InceptionA(x, "Mixed_5d", 288, 64);
        x = InceptionB(x, "Mixed_6a", 288);
        x = InceptionC(x, "Mixed_6b", 768, 128);
        x = InceptionC(x, "Mixed_6c", 768, 160);
        x = InceptionC(x, "Mixed_6d", 768, 160);
        x = InceptionC(x, "Mixed_6e", 768, 192);
        x = InceptionD(x, "Mixed_7a", 768);
        x = InceptionE(x, "Mixed_7b", 1280);
        x = InceptionE(x, "Mixed_7c", 2048);
        x = b.GlobalAveragePool(x, "avgpool");
        x = b.Flatten(x, "flatten");
        return b.Linear(x, "fc", 2048, 1000);
    }
}
