"""Chinese for the English strings experiments write (captions, tables, notes, units, figure labels).

:data:`ZH` maps the English text exactly as an experiment writes it, or the same text
with every number replaced by ``#``, to its Chinese, where ``#`` stands for the same
numbers in the same order. :func:`zh` looks a string up. It lives with the experiments
(not the report) because figures are drawn in Chinese when they are made
(:func:`dlfaq.experiments._plots.save_zh`), and experiments never import the report.
"""

from __future__ import annotations

import re

ZH: dict[str, str] = {
    "Green: yes, red: no, grey: not applicable (healthy case, or no command to test).":
        "绿色:是,红色:否,灰色:不适用(健康的情形,或没有可检验的命令)。",
    "dlfaq doctor on the machine that ran this experiment":
        "在运行本实验的机器上执行 dlfaq doctor 的结果",
    "#+cpu (/work/main/.venv/lib/python3.#/site-packages/torch)":
        "#+cpu(/work/main/.venv/lib/python3.#/site-packages/torch)",
    "torch CUDA build":
        "torch 的 CUDA 版本",
    "none (CPU-only build)":
        "无(仅 CPU 版本)",
    "torch cuDNN":
        "torch 的 cuDNN",
    "none loaded":
        "未加载",
    "NVIDIA driver":
        "NVIDIA 驱动",
    "not found":
        "未找到",
    "none usable, because this torch (#+cpu) is a CPU-only build; no NVIDIA GPU or driver was found (no nvidia-smi, no /proc/driver/nvidia)":
        "不可用:这个 torch(#+cpu)是仅 CPU 的版本;没有找到 NVIDIA GPU 或驱动(没有 nvidia-smi,也没有 /proc/driver/nvidia)",
    "linker view":
        "链接器看到的情况",
    "ldconfig -p, # CUDA entries":
        "ldconfig -p,# 个 CUDA 条目",
    "CUDA libraries in":
        "CUDA 库所在位置",
    "no usable GPU: this torch (#+cpu) is a CPU-only build; no NVIDIA GPU or driver was found (no nvidia-smi, no /proc/driver/nvidia)":
        "没有可用的 GPU:这个 torch(#+cpu)是仅 CPU 的版本;没有找到 NVIDIA GPU 或驱动(没有 nvidia-smi,也没有 /proc/driver/nvidia)",
    "Each broken set-up, the doctor's diagnosis, and whether each fix leaves a healthy tree":
        "每种损坏的环境、doctor 的诊断,以及每个修复是否让环境恢复健康",
    "expected finding":
        "预期的发现",
    "doctor found":
        "doctor 的发现",
    "fix commands":
        "修复命令",
    "doctor fix: healthy":
        "doctor 的修复:健康",
    "still healthy after a later ldconfig":
        "之后再运行 ldconfig 仍然健康",
    "page's commands: healthy":
        "页面的命令:健康",
    "page: after a later ldconfig":
        "页面:之后再运行 ldconfig",
    "The page's `ldconfig DIR` on the tree whose cuDNN folder the linker does not know":
        "页面的 `ldconfig DIR` 用在链接器不认识其 cuDNN 目录的环境上",
    "cache serves /opt/cudnn/lib":
        "缓存提供 /opt/cudnn/lib",
    "doctor: healthy":
        "doctor:健康",
    "before `ldconfig DIR`":
        "`ldconfig DIR` 之前",
    "right after `ldconfig DIR`":
        "刚运行 `ldconfig DIR` 之后",
    "after a later plain `ldconfig`":
        "之后再运行一次普通的 `ldconfig`",
    "The page's `ln -sf` on the tree where cuDNN was copied without -P":
        "页面的 `ln -sf` 用在复制 cuDNN 时没加 -P 的环境上",
    "doctor healthy before ln -sf":
        "ln -sf 之前 doctor 判为健康",
    "ldconfig warnings before ln -sf":
        "ln -sf 之前 ldconfig 的警告",
    "ldconfig warnings after ln -sf":
        "ln -sf 之后 ldconfig 的警告",
    "doctor healthy after ln -sf":
        "ln -sf 之后 doctor 判为健康",
    "findings after typing # verbatim on a # install":
        "照原样输入 # 之后,在 # 安装上的发现",
    "Fixes were applied inside temporary fake roots only; ldconfig: real ldconfig -r (chroot into the fake root). The pip reinstall of torch is a model (torch.json gets the wheel's CUDA version; availability follows CUDA's driver rule), not a real install. 'driver-not-loaded' has no command to test (modprobe/reboot). This machine: GPU usable = False, because this torch (#+cpu) is a CPU-only build; no NVIDIA GPU or driver was found (no nvidia-smi, no /proc/driver/nvidia).":
        "所有修复都只在临时的假根目录里执行;ldconfig:真实的 ldconfig -r(chroot 到假根目录)。重新用 pip 安装 torch 只是一个模型(torch.json 记下 wheel 的 CUDA 版本;是否可用按 CUDA 的驱动规则判断),并非真实安装。'driver-not-loaded' 没有可检验的命令(需要 modprobe 或重启)。本机:GPU 可用 = False,因为这个 torch(#+cpu)是仅 CPU 的版本;没有找到 NVIDIA GPU 或驱动(没有 nvidia-smi,也没有 /proc/driver/nvidia)。",
    "Green: yes, red: no, grey: not applicable.":
        "绿色:是,红色:否,灰色:不适用。",
    "Each import failure: diagnosis, the doctor's fixes, and the page's sys.path.append":
        "每种导入失败:诊断、doctor 的修复,以及页面的 sys.path.append",
    "script exit code":
        "脚本退出码",
    "a printed fix works":
        "打印出的修复有效",
    "location right":
        "位置正确",
    "own module not found (page's scope)":
        "找不到自己的模块(页面讨论的范围)",
    "name clash":
        "名字冲突",
    "sys.path.append works":
        "sys.path.append 有效",
    "Every printed fix, applied in a fresh copy of the project":
        "每个打印出的修复,都在项目的一份新副本中执行",
    "printed fix":
        "打印出的修复",
    "doctor healthy=True, script exit=#":
        "doctor 健康=True,脚本退出码=#",
    "not applied":
        "未执行",
    "needs the network: '/work/main/.venv/bin/python3 -m pip inst":
        "需要联网:'/work/main/.venv/bin/python3 -m pip inst",
    "The page's line, written in different ways (script in scripts/, package in the root)":
        "页面那一行的不同写法(脚本在 scripts/ 里,包在根目录)",
    "variant of sys.path.append":
        "sys.path.append 的写法",
    "script runs":
        "脚本能运行",
    "append the project root (absolute path)":
        "追加项目根目录(绝对路径)",
    "append the package folder itself (/project_path/module read literally)":
        "追加包目录本身(/project_path/module 按字面理解)",
    "root appended by absolute path, project moved":
        "按绝对路径追加根目录,项目被移动后",
    "root from __file__, project moved":
        "从 __file__ 推出根目录,项目被移动后",
    "append the root, own package named like a standard-library one (test)":
        "追加根目录,但自己的包与标准库的包同名(test)",
    "Scripts run for real in fresh interpreters; fixes are applied in fresh copies inside a temporary folder. 'pip install -e' goes into a throw-away venv that borrows this environment's setuptools (offline); 'pip install NAME' needs the network and is not applied. Syntax errors, missing dependencies and circular imports get a location, not a command; the 'location right' column checks it. The standard-library name clash (an own package called `test`) is shown among the variants as information only.":
        "脚本在新的解释器中真实运行;修复在临时目录里的新副本中执行。'pip install -e' 装进一个借用本环境 setuptools 的一次性虚拟环境(离线);'pip install NAME' 需要联网,因此不执行。语法错误、缺失的依赖和循环导入给出的是出错位置而不是命令;“位置正确”一列检验它。与标准库同名的冲突(自己的包叫 `test`)只作为参考列在各种写法中。",
    "Receptive field (left, log scale) and feature-map width (right) by depth, main path only.":
        "感受野(左,对数刻度)和特征图宽度(右)随深度的变化,只看主路径。",
    "Every conv / pool / transposed-conv layer: formula vs trace vs the page's formula":
        "每个卷积 / 池化 / 转置卷积层:公式、实际追踪与页面公式的对比",
    "dlfaq formula":
        "dlfaq 公式",
    "page formula":
        "页面公式",
    "receptive field":
        "感受野",
    "dilated context module":
        "空洞卷积上下文模块",
    "U-Net decoder":
        "U-Net 解码器",
    "Random layer configurations, output size from torch vs the floored page formula":
        "随机的层配置:torch 给出的输出尺寸与向下取整后的页面公式对比",
    "floor((W−K+#P)/S)# right":
        "floor((W−K+#P)/S)# 正确",
    "Conv1d/Conv2d, dilation #":
        "Conv1d/Conv2d,膨胀 #",
    "literal value an integer on #":
        "字面值在 # 上是整数",
    "# with the default stride (= kernel)":
        "# 使用默认步长(= 核大小)",
    "rounds up instead":
        "反而向上取整",
    "The page gives (W − K + #P)/S + #; integer sizes need the floor. Dilated and transposed convolutions need formulas of their own; adaptive pooling takes its output size as an argument.":
        "页面给出的是 (W − K + #P)/S + #;整数尺寸需要向下取整。空洞卷积和转置卷积各有自己的公式;自适应池化的输出尺寸作为参数给出。",
    "Gradient norm against distance from the loss; thin lines are seeds, thick lines their geometric mean.":
        "梯度范数随与损失距离的变化;细线是各个随机种子,粗线是它们的几何平均。",
    "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−#} + b_hh) versus torch.nn.RNN (float3#)":
        "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−#} + b_hh) 与 torch.nn.RNN 对比(float3#)",
    "input size":
        "输入维度",
    "max |manual − torch|":
        "max |手写 − torch|",
    "Gradient norm reaching step t from a loss on h_T (T = #, hidden #, float6#)":
        "从 h_T 上的损失传到第 t 步的梯度范数(T = #,隐藏层 #,float6#)",
    "seed":
        "随机种子",
    "log1# ‖∂L/∂h_T‖/‖∂L/∂h_1‖ (decades)":
        "log1# ‖∂L/∂h_T‖/‖∂L/∂h_1‖(数量级)",
    "far half (decades)":
        "远端一半(数量级)",
    "per-step factor":
        "每步的衰减因子",
    "R² of log-linear fit":
        "对数线性拟合的 R²",
    "chain-rule bound holds":
        "链式法则的上界成立",
    "torch default init":
        "torch 默认初始化",
    "W_hh spectral radius #":
        "W_hh 谱半径 #",
    "The spectral-radius-# runs are context, not part of the verdict: with a larger W_hh the gradient no longer vanishes (the exploding side; tanh saturation keeps the growth mild). The verdict uses torch's default initialisation, the setting of the page's picture.":
        "谱半径为 # 的运行只作背景,不参与结论:W_hh 更大时梯度不再消失(即爆炸的一侧;tanh 饱和让增长比较温和)。结论使用 torch 的默认初始化,也就是页面示意图的设置。",
    "Left: test accuracy per seed (dots) and mean (line). Right: the same LSTMs with the forget gate forced to # or #, or h_{t−#} hidden from the gates, from mid-delay on.":
        "左:每个随机种子的测试准确率(点)和均值(线)。右:同样的 LSTM 从延迟中段起把遗忘门强制设为 # 或 #,或者对门隐藏 h_{t−#}。",
    "The page's equations against torch.nn.LSTM (float6#, random weights, # steps)":
        "页面的方程与 torch.nn.LSTM 对比(float6#,随机权重,# 步)",
    "max |c_t − (f⊙c_{t−#} + i⊙g)| (hand vs torch.nn.LSTM)":
        "max |c_t − (f⊙c_{t−#} + i⊙g)|(手写与 torch.nn.LSTM)",
    "max |continued from (h, c) − whole sequence|":
        "max |从 (h, c) 接着算 − 整段序列|",
    "max change when c is dropped from the handed-on state":
        "从传下去的状态中去掉 c 时的最大变化",
    "error with tanh on block # / # / # / #":
        "在第 # / # / # / # 块上使用 tanh 时的误差",
    "Recalling the first token after T distractors (# seeds; chance #)":
        "在 T 个干扰符号之后回忆第一个符号(# 个随机种子;随机猜测 #)",
    "delay T":
        "延迟 T",
    "test acc. mean":
        "测试准确率均值",
    "chosen lr per seed":
        "每个种子选出的学习率",
    "Trained LSTMs at T = #, one per seed, on the test batch (chance #)":
        "T = # 时训练好的 LSTM,每个种子一个,在测试批次上(随机猜测 #)",
    "condition (LSTM, from step # on)":
        "条件(LSTM,从第 # 步起)",
    "forget gate forced to # (cell carries nothing)":
        "遗忘门强制为 #(细胞什么都不带)",
    "forget gate forced to # (cell keeps everything)":
        "遗忘门强制为 #(细胞保留一切)",
    "h_{t−#} replaced by # in the gates (c still carried)":
        "门中的 h_{t−#} 换成 #(c 仍然传递)",
    "mean forget gate during the delay, # memory units":
        "延迟期间的平均遗忘门,# 个记忆单元",
    "mean forget gate during the delay, other units":
        "延迟期间的平均遗忘门,其余单元",
    "mean input gate of memory units on the token":
        "记忆单元在该符号处的平均输入门",
    "mean input gate of memory units during the delay":
        "记忆单元在延迟期间的平均输入门",
    "The LSTM's forget-gate bias starts at #; both models choose their Adam learning rate from [#, #] per seed on a validation batch. The first token is marked by an extra input flag. Interventions start at the middle of the delay.":
        "LSTM 的遗忘门偏置初始为 #;两个模型都在验证批次上为每个种子从 [#, #] 中选择 Adam 学习率。第一个符号由一个额外的输入标志标记。干预从延迟的中点开始。",
    "Paired gains over the plain model; the grey bar is the positive control (full balanced training split minus the #:# cut); dashed line: the margin.":
        "相对普通模型的配对增益;灰色条是阳性对照(完整的均衡训练集减去 #:# 截断的结果);虚线:阈值。",
    "Test metrics, mean over # seeds (one digit pair each, minority cut to #:#)":
        "测试指标,# 个随机种子的均值(每个种子一对数字,少数类截断到 #:#)",
    "balanced acc.":
        "均衡准确率",
    "minority recall":
        "少数类召回率",
    "chosen setting per seed":
        "每个种子选出的设置",
    "plain model":
        "普通模型",
    "weight decay: #, #, #, #, #":
        "权重衰减:#, #, #, #, #",
    "random over-sampling":
        "随机过采样",
    "minority:majority after: #, #, #, #, #":
        "之后的少数类:多数类:#, #, #, #, #",
    "k neighbours: #, #, #, #, #":
        "k 近邻:#, #, #, #, #",
    "random under-sampling":
        "随机欠采样",
    "class weights":
        "类别权重",
    "weights: balanced, effective-#, balanced, balanced, effective-#":
        "权重:balanced、effective-#、balanced、balanced、effective-#",
    "focal loss":
        "焦点损失(focal loss)",
    "logit adjustment":
        "logit 调整",
    "minority:majority per member: #, #, #, #, #":
        "每个成员的少数类:多数类:#, #, #, #, #",
    "feature selection (MI)":
        "特征选择(互信息)",
    "features kept: #, #, #, #, #":
        "保留的特征数:#, #, #, #, #",
    "plain model, full balanced training split (control)":
        "普通模型,完整的均衡训练集(对照)",
    "Balanced-accuracy gain over the plain model (last row: over one under-sample), paired by seed":
        "相对普通模型的均衡准确率增益(最后一行:相对单次欠采样),按种子配对",
    "gain (points)":
        "增益(百分点)",
    "# % CI lo":
        "# % 区间下限",
    "# % CI hi":
        "# % 区间上限",
    "EasyEnsemble over a single under-sample":
        "EasyEnsemble 相对单次欠采样",
    "Minority recall of #-NN: what validation promises vs what the test split gives":
        "#-NN 的少数类召回率:验证集的承诺与测试集的实际结果",
    "SMOTE applied":
        "SMOTE 的使用位置",
    "validation estimate":
        "验证集估计",
    "test (untouched)":
        "测试集(未接触)",
    "before the train/validation split (leaky)":
        "在划分训练/验证集之前(泄漏)",
    "after the split, training part only":
        "划分之后,只用于训练部分",
    "One MNIST-#D digit pair per seed; the minority is cut to #:# in the training split only, the test split keeps the pair's natural mix. All methods share one linear softmax model (L-BFGS) whose weight decay is chosen for the plain model by #-fold cross-validation; each remedy's own setting is chosen the same way, resampling inside each fold. Focal loss and logit adjustment are shown for reference (the page does not name them).":
        "每个随机种子取一对 MNIST-#D 数字;只在训练集中把少数类截断到 #:#,测试集保持这对数字的自然比例。所有方法共用一个线性 softmax 模型(L-BFGS),其权重衰减用 #-折交叉验证为普通模型选定;每种补救方法自己的设置也用同样方式选择,重采样在每一折内部进行。焦点损失和 logit 调整只作参考(页面没有提到它们)。",
    "MNIST-#D, #-hidden-layer ReLU MLP, # seeds.":
        "MNIST-#D,# 个隐藏层的 ReLU 多层感知机,# 个随机种子。",
    "Positive control (Srivastava et al. #, JMLR #): n_train = #; reproduced: True":
        "阳性对照(Srivastava 等 #,JMLR #):n_train = #;已复现:True",
    "train acc p=#":
        "训练准确率 p=#",
    "test acc p=#":
        "测试准确率 p=#",
    "mean [#% CI]":
        "均值 [#% 区间]",
    "Early-stopped on validation accuracy; p chosen on the validation split per seed and size":
        "按验证准确率早停;每个种子和规模在验证集上选择 p",
    "test acc chosen p":
        "选出的 p 的测试准确率",
    "gain of chosen p (points)":
        "选出的 p 的增益(百分点)",
    "gap p=# (points)":
        "差距 p=#(百分点)",
    "gap chosen p (points)":
        "选出的 p 的差距(百分点)",
    "chosen p by seed":
        "各种子选出的 p",
    "dropout p":
        "丢弃率 p",
    "val acc":
        "验证准确率",
    "test acc":
        "测试准确率",
    "train acc":
        "训练准确率",
    "gap (points)":
        "差距(百分点)",
    "steps to optimum":
        "到达最优的步数",
    "runs capped":
        "达到上限的运行数",
    "p = #, n_train = #, test set":
        "p = #,n_train = #,测试集",
    "acc weight-scaled":
        "按权重缩放的准确率",
    "acc average of sampled sub-nets":
        "采样子网络平均的准确率",
    "acc one sub-net (mean)":
        "单个子网络的准确率(均值)",
    "argmax agreement":
        "argmax 一致率",
    "trained with":
        "训练方式",
    "test accuracy lost when #% of hidden units are deleted (points, mean)":
        "删掉 #% 隐藏单元时损失的测试准确率(百分点,均值)",
    "Every run trains until validation accuracy has not improved for the patience (counted in optimizer steps) and keeps the best epoch's weights; the step cap is far above the optimum ('capped' counts the runs that hit it). Dropout is inverted dropout after both hidden activations, none on the inputs. The dropout rate is chosen per seed and training-set size on the validation split; the test split is only measured. The unit-ablation test is a proxy for co-adaptation: it measures how much the network relies on particular units being present, which dropout training rewards by construction.":
        "每次运行都训练到验证准确率在耐心期(按优化器步数计)内不再提高为止,并保留最佳轮次的权重;步数上限远高于最优点(“达到上限”统计触及上限的运行)。Dropout 是两个隐藏层激活之后的反向缩放 dropout,输入层不丢弃。丢弃率按种子和训练集规模在验证集上选择;测试集只用来测量。单元删除测试是协同适应的代理指标:它测量网络在多大程度上依赖特定单元的存在,而 dropout 训练在构造上就会奖励不依赖。",
    "Gradient norm per step and validation accuracy per epoch for one seed.":
        "一个随机种子的每步梯度范数和每轮验证准确率。",
    "IRNN on MNIST-#D, # seeds; SGD + momentum #; clip norm #; the L2 strength is chosen per seed on validation":
        "MNIST-#D 上的 IRNN,# 个随机种子;SGD + 动量 #;剪切范数 #;L2 强度按种子在验证集上选择",
    "val acc (mean)":
        "验证准确率(均值)",
    "test acc (mean)":
        "测试准确率(均值)",
    "spike (decades)":
        "尖峰(数量级)",
    "ρ(W_hh) after":
        "训练后的 ρ(W_hh)",
    "seeds choosing it":
        "选择它的种子数",
    "low lr":
        "低学习率",
    "Positive control: the same net at a #x lower learning rate does not spike":
        "阳性对照:同一网络在学习率降低 #x 时不出现尖峰",
    "spike (decades, mean)":
        "尖峰(数量级,均值)",
    "clip_grad_norm runs with on_nonfinite='zero'. The spike of a run is log1# of its largest over its median total gradient norm (before clipping). A diverged run scores chance accuracy (# %). ρ is the spectral radius of the recurrent matrix after training (# at initialization).":
        "clip_grad_norm 使用 on_nonfinite='zero'。一次运行的尖峰是其最大总梯度范数与中位数之比(剪切之前)的 log1#。发散的运行按随机猜测的准确率(# %)计。ρ 是训练后循环矩阵的谱半径(初始化时为 #)。",
    "Gradient norm per hidden layer at initialization, and A against depth.":
        "初始化时每个隐藏层的梯度范数,以及 A 随深度的变化。",
    "Depth #, at initialization, # seeds: A = log1# of the last over the first hidden layer's gradient norm (#: no attenuation; > # vanishing; < # growing towards the input)":
        "深度 #,初始化时,# 个随机种子:A = 最后一个与第一个隐藏层梯度范数之比的 log1#(#:没有衰减;> # 消失;< # 朝输入方向增长)",
    "A (decades, mean [# % CI])":
        "A(数量级,均值 [# % 区间])",
    "monitor findings":
        "监视器的发现",
    "batch norm":
        "批归一化",
    "Mean A (decades) at initialization against depth (# marks an underflow to #)":
        "初始化时平均 A(数量级)随深度的变化(# 表示下溢到 #)",
    "ReLU, weights N(#, g²/fan_in) (He init is g = √#); negative A = the gradient grows towards the input":
        "ReLU,权重 N(#, g²/fan_in)(He 初始化即 g = √#);A 为负表示梯度朝输入方向增长",
    "gain g":
        "增益 g",
    "residual (He init)":
        "残差网络(He 初始化)",
    "A is read from the gradients with respect to the hidden layers' outputs (all of width #), so first and last layer compare directly; the weights' gradients go to the GradientMonitor, whose findings are listed. Residual nets have no normalization and an unscaled residual branch, so each block adds to the signal's variance.":
        "A 取自对各隐藏层输出(宽度都是 #)的梯度,因此第一层和最后一层可以直接比较;权重的梯度交给 GradientMonitor,列出它的发现。残差网络没有归一化,残差分支也不缩放,所以每个块都会增大信号的方差。",
    "share of sigmoid's decades":
        "占 sigmoid 数量级的比例",
    "decades of headroom":
        "个数量级的余量",
    "How much of the last output's gradient reaches earlier inputs, and learning curves on delayed recall.":
        "最后一个输出的梯度有多少传到更早的输入,以及延迟回忆任务上的学习曲线。",
    "Recall the first of # tokens (chance #), # seeds; the gradient is measured at initialization":
        "回忆 # 个符号中的第一个(随机猜测 #),# 个随机种子;梯度在初始化时测量",
    "test accuracy (mean)":
        "测试准确率(均值)",
    "seeds solved (≥ #)":
        "解出任务的种子数(≥ #)",
    "steps used (median)":
        "所用步数(中位数)",
    "log1# gradient kept at lag # (mean)":
        "保留梯度的 log1#,滞后 # 步(均值)",
    "RNN (tanh)":
        "RNN(tanh)",
    "LSTM (PyTorch init)":
        "LSTM(PyTorch 初始化)",
    "LSTM, forget bias #":
        "LSTM,遗忘门偏置 #",
    "PyTorch draws every nn.LSTM weight and bias, the forget gate's included, from U(#/√H, #/√H), so the forget gate starts near σ(#) = #. The LSTM with forget bias # sets b_ih of the forget gate to # and b_hh to #.":
        "PyTorch 从 U(#/√H, #/√H) 中抽取 nn.LSTM 的所有权重和偏置(包括遗忘门的),所以遗忘门初始约为 σ(#) = #。遗忘门偏置为 # 的 LSTM 把遗忘门的 b_ih 设为 #,b_hh 设为 #。",
    "Sigmoid's derivative peaks at #/# and tanh's at #; squared error on a sigmoid output loses its gradient on confidently wrong predictions, cross-entropy does not.":
        "sigmoid 的导数峰值为 #/#,tanh 的为 #;sigmoid 输出上的平方误差在自信地预测错误时丢失梯度,交叉熵不会。",
    "Autograd derivatives on # points in [#, #] (float6#)":
        "# 个点上的自动求导导数,区间 [#, #](float6#)",
    "max derivative (grid)":
        "最大导数(网格上)",
    "at x":
        "位置 x",
    "derivative at x = ±#":
        "x = ±# 处的导数",
    "Sigmoid is an activation; the loss on top of it is a separate choice":
        "sigmoid 是激活函数;在它之上用什么损失是另一个选择",
    "torch.nn.Sigmoid is a subclass of torch.nn's loss base class (_Loss)":
        "torch.nn.Sigmoid 是 torch.nn 损失基类(_Loss)的子类",
    "its forward takes a target":
        "它的 forward 接受目标值",
    "it maps a tensor to one of the same shape (elementwise)":
        "它把张量映射为同形状的张量(逐元素)",
    "defined in":
        "定义位置",
    "cross-entropy / squared-error gradient at a sigmoid output, z ≤ #, target # (min)":
        "sigmoid 输出处交叉熵 / 平方误差的梯度,z ≤ #,目标 #(最小值)",
    "On MNIST-#D the mini-batch gradient's deviation from the full gradient shrinks as #/B, as the sampling formula says, and its direction approaches the full gradient's.":
        "在 MNIST-#D 上,小批量梯度与全量梯度的偏差按 #/B 缩小,与抽样公式一致,其方向也趋近全量梯度的方向。",
    "Seed #, N = # training examples":
        "随机种子 #,N = # 个训练样本",
    "batch size B":
        "批大小 B",
    "E‖g_B − g‖² measured":
        "实测 E‖g_B − g‖²",
    "measured / formula":
        "实测 / 公式",
    "mean cos(g_B, g)":
        "平均 cos(g_B, g)",
    "# epoch(s) of SGD (# steps), # GD steps, lr #":
        "SGD # 轮(# 步),GD # 步,学习率 #",
    "comparison (same initialization)":
        "比较(相同初始化)",
    "max |Δw| after training":
        "训练后的 max |Δw|",
    "SGD B=#, the same sample order twice":
        "SGD B=#,两次相同的样本顺序",
    "SGD B=#, sample order # vs #":
        "SGD B=#,样本顺序 # 与 #",
    "full-batch GD, shuffling seed # vs #":
        "全批量 GD,打乱种子 # 与 #",
    "g is the full-batch gradient, g_B the mean of B per-example gradients drawn without replacement; both are computed at the same weights (an MLP after one epoch of SGD), so the only thing that varies is which examples are drawn. Full-batch GD with two shuffling seeds differs only by float rounding (fit shuffles the rows, which changes the summation order, not the gradient).":
        "g 是全批量梯度,g_B 是不放回抽取的 B 个单样本梯度的均值;两者在相同的权重处计算(一个训练了一轮 SGD 的多层感知机),所以唯一变化的是抽到哪些样本。用两个打乱种子的全批量 GD 只差浮点舍入(fit 会打乱行的顺序,这改变求和顺序,不改变梯度)。",
    "Validation loss against gradient evaluations; the full training loss along single SGD steps and the distribution of its one-step changes.":
        "验证损失随梯度计算次数的变化;沿单步 SGD 的完整训练损失,以及它单步变化量的分布。",
    "Per-example gradient evaluations until the validation loss reaches the target, each method at its fastest learning rate of the grid":
        "验证损失到达目标所需的单样本梯度计算次数,每种方法取网格中最快的学习率",
    "gradient evaluations to the target (median)":
        "到达目标的梯度计算次数(中位数)",
    "seeds that reached it":
        "到达目标的种子数",
    "MLP, target val loss #":
        "多层感知机,目标验证损失 #",
    "full batch (GD)":
        "全批量(GD)",
    "logistic regression (control), target #":
        "逻辑回归(对照),目标 #",
    "SGD B=#, lr # from initialization: the full training loss before every step":
        "SGD B=#,学习率 #,从初始化开始:每一步之前的完整训练损失",
    "steps tracked":
        "追踪的步数",
    "steps that raised the full training loss":
        "让完整训练损失上升的步数",
    "full loss fall over the window":
        "窗口内完整损失的下降量",
    "logistic regression: steps that raised it":
        "逻辑回归:让它上升的步数",
    "MNIST-#D, each method stopped when its training loss first reaches # nats, at the rate of its grid with the lowest validation loss there; control: f(w) = (w² − #)² + #w, mean final f in the last column":
        "MNIST-#D,每种方法在训练损失首次达到 # 奈特时停止,学习率取其网格中在该处验证损失最低的那个;对照:f(w) = (w² − #)² + #w,最后一列是最终 f 的均值",
    "test accuracy % (mean)":
        "测试准确率 %(均值)",
    "train loss (mean)":
        "训练损失(均值)",
    "control: double well, GD, % chains in the good basin":
        "对照:双势阱,GD,落入好盆地的链 %",
    "control: double well, SGD, % chains in the good basin":
        "对照:双势阱,SGD,落入好盆地的链 %",
    "Plain SGD without momentum; every run of a seed starts from the same initialization. A gradient evaluation is one example's forward and backward pass, so the counts are proportional to FLOPs for GD and SGD alike. A run that does not reach the target within its budget is charged the budget, which understates its cost. The tracked full-loss values come from a monitor passed to dlfaq.train.loop.fit, evaluated before every step.":
        "不带动量的普通 SGD;同一种子的每次运行都从相同的初始化开始。一次梯度计算是一个样本的前向和反向传播,所以对 GD 和 SGD 来说计数都与 FLOPs 成正比。在预算内没有到达目标的运行按预算计,这会低估它的代价。追踪的完整损失值来自传给 dlfaq.train.loop.fit 的监视器,在每一步之前计算。",
    "Each method's definition, measured on dlfaq.nn in training mode (p = z = #)":
        "每种方法的定义,在训练模式下的 dlfaq.nn 上测量(p = z = #)",
    "fraction of activations zeroed":
        "被置零的激活比例",
    "fraction of weights zeroed":
        "被置零的权重比例",
    "fraction of output units entirely zero":
        "整个为零的输出单元比例",
    "input/output mask identical at every step":
        "每一步的输入/输出掩码都相同",
    "recurrent-state mask identical at every step":
        "每一步的循环状态掩码都相同",
    "fraction dropped (input/output mask)":
        "丢弃比例(输入/输出掩码)",
    "fraction dropped (recurrent mask)":
        "丢弃比例(循环掩码)",
    "neighbouring sequences with different masks":
        "相邻序列的掩码不同",
    "recurrent (Semeniuta)":
        "循环 dropout(Semeniuta)",
    "fraction of updates i⊙g dropped":
        "被丢弃的更新 i⊙g 比例",
    "max |gates − gates recomputed without dropout|":
        "max |门 − 不用 dropout 重算的门|",
    "fraction of gate values (i, f, o) zeroed":
        "被置零的门值(i, f, o)比例",
    "fraction of cell-state values zeroed":
        "被置零的细胞状态值比例",
    "fraction of c units keeping their previous value":
        "保持先前值的 c 单元比例",
    "fraction of h units keeping their previous value":
        "保持先前值的 h 单元比例",
    "fraction of values set to zero":
        "被设为零的值的比例",
    "All verdicts are exact checks of definitions. Recurrent dropout is implemented as Semeniuta et al. (#) define it, dropout on the candidate update only, which is why the page's wording (gates and update) is contradicted. An earlier version also trained character-level language models with each regularizer; at a laptop budget they stayed underfitted (no regularizer can help there), so that comparison could not test anything the page claims and was dropped.":
        "所有结论都是对定义的精确检验。循环 dropout 按 Semeniuta 等(#)的定义实现,只对候选更新做 dropout,因此页面的说法(门和更新)不成立。早先的版本还用每种正则化方法训练了字符级语言模型;在笔记本电脑的预算下它们都欠拟合(此时任何正则化都帮不上忙),所以那个比较无法检验页面的任何论断,已被删除。",
    "MNIST-#D, mean and min-max band over # seeds; red without batch norm, blue with.":
        "MNIST-#D,# 个随机种子的均值与最小-最大范围;红色不用批归一化,蓝色使用。",
    "ReLU MLP, depth #, width #, He init, SGD batch #, up to # epochs; control at lr #":
        "ReLU 多层感知机,深度 #,宽度 #,He 初始化,SGD 批大小 #,最多 # 轮;对照的学习率为 #",
    "best val acc % (mean)":
        "最佳验证准确率 %(均值)",
    "runs that train":
        "能训练起来的运行数",
    "steps to target (median)":
        "到达目标的步数(中位数)",
    "times chosen":
        "被选中的次数",
    "no BN":
        "无 BN",
    "ReLU MLP, depth #, lr #, # seeds":
        "ReLU 多层感知机,深度 #,学习率 #,# 个随机种子",
    "init gain g":
        "初始化增益 g",
    "Test accuracy, read once per setting":
        "测试准确率,每种设置只读取一次",
    "test acc % (mean)":
        "测试准确率 %(均值)",
    "sigmoid depth # (lr chosen on validation)":
        "sigmoid,深度 #(学习率在验证集上选择)",
    "ReLU depth #, default init, lr #":
        "ReLU,深度 #,默认初始化,学习率 #",
    "Plain SGD without momentum, batch # (drop_last, so BN never sees a batch of one), up to # epochs with early stopping on validation accuracy (patience #); the best validation weights are restored before the test split is read. A diverged run (non-finite loss) counts as chance (# %) and is never chosen. Steps to the target are measured at epoch granularity; FLOPs per step are counted from the layer sizes (# per multiply-accumulate, # per normalized activation).":
        "不带动量的普通 SGD,批大小 #(drop_last,因此 BN 不会遇到只有一个样本的批次),最多 # 轮,按验证准确率早停(耐心 #);读取测试集之前恢复最佳验证权重。发散的运行(损失非有限)按随机猜测(# %)计,且永远不会被选中。到达目标的步数按轮次粒度测量;每步的 FLOPs 按层的大小计算(每次乘加 #,每个归一化激活 #)。",
    "Relatedness per fold for GloVe #B #d, its #-d version and random vectors (lines pair the same fold), and the scores as principal components are removed.":
        "GloVe #B #d、它的 #-d 版本和随机向量在各折上的相关性(连线连接同一折),以及去掉主成分后的分数。",
    "# category words of fold # in #-D: gold categories on PCA and t-SNE maps, and the k-means clusters found in the full #-d space drawn on the t-SNE map.":
        "# 个类别词(第 # 折)在 #-D 中:PCA 和 t-SNE 图上的真实类别,以及在完整 #-d 空间中找到的 k-means 聚类画在 t-SNE 图上。",
    "Relatedness: Spearman correlation of cosine similarity with human scores":
        "相关性:余弦相似度与人工评分的 Spearman 相关",
    "data set":
        "数据集",
    "Spearman, mean of # folds":
        "Spearman,# 折的均值",
    "Spearman, whole set":
        "Spearman,整个数据集",
    "GloVe on # principal components":
        "只保留 # 个主成分的 GloVe",
    "random vectors (control)":
        "随机向量(对照)",
    "GloVe, case-sensitive lookup":
        "GloVe,区分大小写的查找",
    "PPMI-SVD (Lee corpus), its covered pairs only":
        "PPMI-SVD(Lee 语料),只算它覆盖的词对",
    "Google analogy set (# questions)":
        "Google 类比数据集(# 道题)",
    "vectors / setting":
        "向量 / 设置",
    "GloVe on # principal components, same setting":
        "只保留 # 个主成分的 GloVe,相同设置",
    "GloVe, question words NOT excluded":
        "GloVe,未排除题目中的词",
    "PPMI-SVD (Lee corpus), its covered questions only":
        "PPMI-SVD(Lee 语料),只算它覆盖的题目",
    "Categorization: k-means (k = #) on # category words from the analogy set, in # stratified folds":
        "分类:k-means(k = #)作用于类比数据集的 # 个类别词,分为 # 个分层折",
    "vectors / view":
        "向量 / 视图",
    "k-means purity, mean of # folds":
        "k-means 纯度,# 折的均值",
    "trustworthiness (#-NN)":
        "可信度(#-NN)",
    "GloVe #B #d, all # dimensions":
        "GloVe #B #d,全部 # 维",
    "GloVe, #-D PCA view":
        "GloVe,#-D PCA 视图",
    "GloVe, #-D t-SNE view":
        "GloVe,#-D t-SNE 视图",
    "PPMI-SVD (Lee corpus), # covered words, whole set":
        "PPMI-SVD(Lee 语料),# 个覆盖的词,整个数据集",
    "GloVe #B #d reduced to its leading principal components (whole benchmarks; information)":
        "GloVe #B #d 降到前几个主成分(整个基准;仅供参考)",
    "principal components kept":
        "保留的主成分数",
    "k-means purity (all category words)":
        "k-means 纯度(全部类别词)",
    "Unit of independence: a benchmark item; the items are split into # disjoint folds with a fixed generator (category words stratified by category) and every effect is the mean per-fold difference with a t interval. The worse embedding is GloVe #B #d on its # leading principal components, so both are scored on the same items. The quick profile searches analogy answers among the first # words; gensim's default (and the full profile) is #.":
        "独立单位:一个基准条目;条目用固定的生成器分成 # 个不相交的折(类别词按类别分层),每个效应都是各折差值的均值并给出 t 区间。较差的嵌入是只保留前 # 个主成分的 GloVe #B #d,因此两者在相同的条目上打分。quick 配置在前 # 个词中搜索类比答案;gensim 的默认值(以及 full 配置)是 #。",
    "The LSTM cell drawn from its equations; the red line gives the gate values of one real step (unit # of a random-weight cell): c_t = f·c_{t−#} + i·g.":
        "按方程画出的 LSTM 单元;红线给出一个真实步骤的门值(随机权重单元的第 # 个单元):c_t = f·c_{t−#} + i·g。",
    "The diagram's equations versus torch.nn.LSTM (float3#)":
        "示意图的方程与 torch.nn.LSTM 对比(float3#)",
    "max |diagram − torch| (h and c)":
        "max |示意图 − torch|(h 和 c)",
    "One step of a random LSTM cell (hidden #, float6#)":
        "随机 LSTM 单元的一步(隐藏层 #,float6#)",
    "sum of off-diagonal |∂c_t/∂c_{t−#}|":
        "非对角元 |∂c_t/∂c_{t−#}| 之和",
    "off-diagonal share of |∂h_t/∂h_{t−#}| (for contrast)":
        "|∂h_t/∂h_{t−#}| 中非对角元的占比(作对比)",
    "The diagram is drawn with matplotlib patches; its equations are the ones verified above.":
        "示意图用 matplotlib 的图形块绘制;它的方程就是上面验证过的那些。",
    "Per-token copy accuracy against sequence length, with and without attention.":
        "逐符号复制准确率随序列长度的变化,有注意力与无注意力。",
    "Attention weights for one test sequence (first seed); copying is the diagonal.":
        "一条测试序列的注意力权重(第一个随机种子);复制就是对角线。",
    "Copy task, greedy decoding, mean over # seeds; chance per token = #/#":
        "复制任务,贪心解码,# 个随机种子的均值;每个符号的随机猜测 = #/#",
    "token acc (plain)":
        "符号准确率(无注意力)",
    "token acc (attention)":
        "符号准确率(有注意力)",
    "min over seeds (plain)":
        "各种子中的最小值(无注意力)",
    "min over seeds (attention)":
        "各种子中的最小值(有注意力)",
    "whole-sequence acc (plain)":
        "整条序列准确率(无注意力)",
    "whole-sequence acc (attention)":
        "整条序列准确率(有注意力)",
    "attention argmax on copied token or next":
        "注意力 argmax 落在被复制的符号或下一个符号上",
    "on copied token":
        "落在被复制的符号上",
    "chance of 'token or next'":
        "“该符号或下一个”的随机概率",
    "Replacing one source token of length-# sequences (teacher forcing)":
        "替换长度为 # 的序列中的一个源符号(teacher forcing)",
    "Copy task, # Adam steps of # sequences of random length #..#, GRU hidden size #, # seeds; greedy decoding on # fresh sequences per length. Without attention the decoder sees only the encoder's last state.":
        "复制任务,# 步 Adam,每步 # 条长度随机为 #..# 的序列,GRU 隐藏层大小 #,# 个随机种子;每个长度在 # 条新序列上贪心解码。没有注意力时,解码器只能看到编码器的最后一个状态。",
    "MNIST-#D, # training examples; # seeds.":
        "MNIST-#D,# 个训练样本;# 个随机种子。",
    "Positive control: the setting overfits (margin # points); reproduced: True":
        "阳性对照:这个设置会过拟合(阈值 # 个百分点);已复现:True",
    "Mean over # seeds; strengths chosen on the validation split":
        "# 个随机种子的均值;强度在验证集上选择",
    "test loss":
        "测试损失",
    "chosen strength by seed":
        "各种子选出的强度",
    "L2 penalty lambda * sum of squared weights":
        "L2 惩罚 lambda * 权重平方和",
    "weight norm":
        "权重范数",
    "train loss":
        "训练损失",
    "% of weights with |w| < #":
        "|w| < # 的权重所占 %",
    "% of total |w| in the largest # %":
        "最大的 # % 权重占总 |w| 的 %",
    "L2 (chosen)":
        "L2(选出的)",
    "L1 (chosen)":
        "L1(选出的)",
    "All runs: Adam, lr #, batch #, early stopping on validation accuracy (patience counted in optimizer steps), best weights restored; the validation split is # examples carved out of the MNIST-#D training split, disjoint from the training subset and from the test split. Penalties are lambda * sum(w^#) and lambda * sum(|w|) over the weights (not the biases), added to the loss; with Adam this is L2 regularization, not decoupled weight decay. Early stopping is used by every run, so it is the baseline here rather than a remedy with a verdict.":
        "所有运行:Adam,学习率 #,批大小 #,按验证准确率早停(耐心按优化器步数计),恢复最佳权重;验证集是 # 个样本,从 MNIST-#D 训练集中划出,与训练子集和测试集都不相交。惩罚项 lambda * sum(w^#) 和 lambda * sum(|w|) 作用于权重(不含偏置),加到损失上;配合 Adam 时这是 L2 正则化,而不是解耦的权重衰减。每次运行都用了早停,所以这里它是基线,而不是一个有结论的补救方法。",
    "Code length of every word against its frequency: deep for rare words, but the frequency-weighted average (green) is close to the entropy and below a balanced tree's (red); negative sampling (purple) needs k + # dot products for every example.":
        "每个词的编码长度随其频率的变化:罕见词很深,但按频率加权的平均值(绿色)接近熵,且低于平衡树的(红色);负采样(紫色)对每个样本需要 k + # 次点积。",
    "Cumulative share of all node visits (Σ count · depth) and of tokens, word types sorted from most to least frequent.":
        "所有节点访问(Σ 次数 · 深度)和词元的累计占比,词型按频率从高到低排序。",
    "Lee corpus vocabulary: code length (tree depth) by frequency band":
        "Lee 语料词表:各频率段的编码长度(树深度)",
    "share of tokens":
        "词元占比",
    "mean depth":
        "平均深度",
    "depth range":
        "深度范围",
    "share of node visits":
        "节点访问占比",
    "rank > #, count ≥ #":
        "排名 > #,次数 ≥ #",
    "count = # (hapax)":
        "次数 = #(只出现一次的词)",
    "GloVe #B vocabulary under a Zipf count model: code length of words at several ranks":
        "Zipf 计数模型下的 GloVe #B 词表:几个排名处词的编码长度",
    "Zipf probability":
        "Zipf 概率",
    "code length":
        "编码长度",
    "Dot products per training example (frequency-weighted average over tokens); each is d multiply-adds forward and about #d backward":
        "每个训练样本的点积次数(按词元频率加权的平均);每次前向是 d 次乘加,反向约 #d 次",
    "entropy H (bits)":
        "熵 H(比特)",
    "HS, Huffman tree":
        "HS,Huffman 树",
    "HS, balanced tree":
        "HS,平衡树",
    "negative sampling k=#":
        "负采样 k=#",
    "full softmax":
        "完整 softmax",
    "deepest word (Huffman)":
        "最深的词(Huffman)",
    "Lee corpus (real counts)":
        "Lee 语料(真实计数)",
    "GloVe #B (Zipf model)":
        "GloVe #B(Zipf 模型)",
    "The GloVe file has no counts; its tree uses a Zipf model (count ∝ #/rank) and shows the shape of a large vocabulary, not word2vec's exact tree. Every verdict is an exact property of the trees dlfaq.nn.HuffmanTree builds on these counts.":
        "GloVe 文件没有词频;它的树使用 Zipf 模型(次数 ∝ #/排名),展示的是大词表的形状,而不是 word2vec 的精确树。每个结论都是 dlfaq.nn.HuffmanTree 在这些计数上所建树的精确性质。",
    "Left: dot products each training pair needed, counted over the pairs trained on. Right: held-out negative log-likelihood of the context word for the two normalised output layers, against the unigram distribution.":
        "左:每个训练词对所需的点积次数,按训练过的词对统计。右:两种归一化输出层在留出数据上对上下文词的负对数似然,与一元分布对比。",
    "Skip-gram on the Lee corpus (V = #, d = #, # epochs, # seed(s), means over seeds; relatedness OOV: WordSim # %, SimLex # %)":
        "Lee 语料上的 Skip-gram(V = #,d = #,# 轮,# 个随机种子,取种子均值;相关性评测的未登录比例:WordSim # %,SimLex # %)",
    "output layer":
        "输出层",
    "dot products per pair":
        "每个词对的点积次数",
    "multiply-adds per pair (forward)":
        "每个词对的乘加次数(前向)",
    "held-out NLL per pair (nats)":
        "每个词对的留出 NLL(奈特)",
    "hierarchical softmax":
        "层次 softmax",
    "negative sampling":
        "负采样",
    "unigram distribution (no model)":
        "一元分布(无模型)",
    "Lee background corpus, every #th document held out, words with count ≥ # in the training documents, window # (random shrink per center), subsampling t = #, SGD with word2vec's linearly decaying rate from #, batch #. The held-out loss and relatedness are information only: the learning rate is word2vec's default, not tuned for any of the three output layers, and most benchmark pairs are outside this tiny vocabulary. Negative sampling is implemented in the experiment as a baseline (unigram^# noise).":
        "Lee 背景语料,每第 # 篇文档留出,训练文档中次数 ≥ # 的词,窗口 #(每个中心词随机缩小),下采样 t = #,SGD 使用 word2vec 从 # 线性衰减的学习率,批大小 #。留出损失和相关性仅供参考:学习率是 word2vec 的默认值,没有为三种输出层中的任何一种调过,而且大多数基准词对都在这个很小的词表之外。负采样在实验中作为基线实现(unigram^# 噪声)。",
    "Student test accuracy against the distillation temperature.":
        "学生的测试准确率随蒸馏温度的变化。",
    "Gradient norm of the soft term against T, with and without T².":
        "软项梯度范数随 T 的变化,乘与不乘 T²。",
    "MNIST-#D test accuracy (# examples), # seeds":
        "MNIST-#D 测试准确率(# 个样本),# 个随机种子",
    "teacher (#×#, dropout, jitter, trained at T = #)":
        "教师(#×#,dropout,抖动,在 T = # 下训练)",
    "page's teacher (trained through softmax(z/#))":
        "页面的教师(通过 softmax(z/#) 训练)",
    "student alone":
        "单独训练的学生",
    "student, soft targets only (alpha #) at the chosen T":
        "学生,只用软目标(alpha #),在选出的 T 下",
    "student distilled, T = # (alpha #, T²)":
        "蒸馏的学生,T = #(alpha #,乘 T²)",
    "student distilled, T chosen on validation":
        "蒸馏的学生,T 在验证集上选择",
    "Temperature chosen per seed on validation accuracy; the test split read once per model":
        "温度按种子在验证准确率上选择;每个模型只读取一次测试集",
    "chosen T":
        "选出的 T",
    "val acc at T = # / # / #":
        "T = # / # / # 时的验证准确率",
    "distilled (chosen T)":
        "蒸馏(选出的 T)",
    "share of the gap closed":
        "缩小的差距比例",
    "How soft are the targets? (uniform over # classes = ln # ≈ # nats; training inputs)":
        "目标有多软?(# 类上的均匀分布 = ln # ≈ # 奈特;训练输入)",
    "targets handed to the student":
        "交给学生的目标",
    "mean entropy (nats)":
        "平均熵(奈特)",
    "ordinary teacher, read at T = #":
        "普通教师,在 T = # 下读取",
    "page's teacher (trained at T = #), read at T = #":
        "页面的教师(在 T = # 下训练),在 T = # 下读取",
    "Gradient norm with respect to the student's logits (# synthetic examples, # classes)":
        "对学生 logits 的梯度范数(# 个合成样本,# 个类别)",
    "|grad| soft, no T²":
        "|grad| 软项,不乘 T²",
    "|grad| soft, with T²":
        "|grad| 软项,乘 T²",
    "|grad| hard CE":
        "|grad| 硬标签交叉熵",
    "Left: rows that overflow (textbook formula) or underflow (log of softmax) against the framework softmax. Right: the loss with logits vs with softmax outputs fed to it, against the correct-class margin.":
        "左:溢出(教科书公式)或下溢(对 softmax 取 log)的行数,与框架的 softmax 对比。右:直接输入 logits 与输入 softmax 输出时的损失,随正确类别间隔的变化。",
    "The classifier's outputs against its last layer's XW + b; the two-class log-odds (information)":
        "分类器的输出与其最后一层的 XW + b;二分类的对数几率(仅供参考)",
    "# random rows of # logits scaled by s (columns after the third: information)":
        "# 行随机的 # 个 logits,乘以 s(第三列之后的列仅供参考)",
    "logit scale":
        "logit 缩放",
    "softmax rows not a distribution":
        "softmax 的行不是概率分布",
    "textbook formula rows inf/nan":
        "教科书公式得到 inf/nan 的行",
    "-inf in log(softmax)":
        "log(softmax) 中的 -inf",
    "non-finite in log_softmax":
        "log_softmax 中的非有限值",
    "softmax(logits) as the fitted distribution and the predicted class; the double-softmax floor":
        "把 softmax(logits) 作为拟合的分布和预测的类别;双重 softmax 的下限",
    "lowest CE(softmax(logits)) over the margins":
        "各间隔上 CE(softmax(logits)) 的最小值",
    "argmax(softmax(z)) = argmax(z), so class predictions never need the softmax; it is needed only when probabilities are. Losses such as torch.nn.CrossEntropyLoss and tf.nn.softmax_cross_entropy_with_logits apply log-softmax internally and must be given logits.":
        "argmax(softmax(z)) = argmax(z),所以类别预测从不需要 softmax;只有需要概率时才需要它。torch.nn.CrossEntropyLoss 和 tf.nn.softmax_cross_entropy_with_logits 等损失在内部做 log-softmax,必须输入 logits。",
    "Positive control (Srivastava et al. #, JMLR #): n_train = #; reproduced: False":
        "阳性对照(Srivastava 等 #,JMLR #):n_train = #;已复现:False",
    "Positive control: the setting overfits (margin # points); reproduced: False":
        "阳性对照:这个设置会过拟合(阈值 # 个百分点);已复现:False",
    "Scripts run for real in fresh interpreters; fixes are applied in fresh copies inside a temporary folder. 'pip install -e' goes into a throw-away venv that borrows this environment's setuptools (offline); it is skipped in the smoke profile. 'pip install NAME' needs the network and is not applied. Syntax errors, missing dependencies and circular imports get a location, not a command; the 'location right' column checks it. The standard-library name clash (an own package called `test`) is shown among the variants as information only.":
        "脚本在新的解释器中真实运行;修复在临时目录里的新副本中执行。'pip install -e' 装进一个借用本环境 setuptools 的一次性虚拟环境(离线);smoke 配置跳过这一步。'pip install NAME' 需要联网,因此不执行。语法错误、缺失的依赖和循环导入给出的是出错位置而不是命令;“位置正确”一列检验它。与标准库同名的冲突(自己的包叫 `test`)只作为参考列在各种写法中。",
    "points":
        "个百分点",
    "decades":
        "个数量级",
    "nats":
        "奈特",
    "GloVe #B #d, #CosAdd, restrict_vocab=#":
        "GloVe #B #d,#CosAdd,restrict_vocab=#",
    # figure texts (axis labels, titles, legends), for the Chinese copies of the figures
    "A (decades)":
        "A(数量级)",
    "A softmax before a loss that expects logits":
        "在需要 logits 的损失之前先做 softmax",
    "Feature-map size":
        "特征图尺寸",
    "Gain of each remedy over the plain model (bars: mean; whiskers: #% CI)":
        "各对策相对普通模型的增益(条:均值;须:#% 区间)",
    "Gain of each remedy over the plain model (bars: mean; whiskers: # % CI)":
        "各对策相对普通模型的增益(条:均值;须:# % 区间)",
    "Gradient of each term against T (synthetic logits)":
        "各项梯度随 T 的变化(合成 logits)",
    "Held-out loss (information; untuned learning rate)":
        "留出损失(仅供参考;学习率未调)",
    "Huffman code length":
        "Huffman 编码长度",
    "L2 lambda":
        "L2 系数 lambda",
    "LSTM cell: the cell state runs along the top; four layers read [h_{t−#}, x_t]":
        "LSTM 单元:细胞状态沿顶部流过;四个层读取 [h_{t−#}, x_t]",
    "Overflow and underflow":
        "上溢与下溢",
    "Receptive field growth":
        "感受野的增长",
    "SGD step":
        "SGD 步",
    "Scores against dimension (whole benchmarks)":
        "分数随维度的变化(整个基准)",
    "Student #×# distilled from teacher #×# (jitter) on MNIST-#D; bars: min–max over seeds":
        "MNIST-#D 上从教师 #×#(抖动)蒸馏出的学生 #×#;条:各种子的最小–最大值",
    "Vanilla RNN: gradient reaching earlier steps":
        "普通 RNN:传到更早时间步的梯度",
    "accuracy":
        "准确率",
    "average of k sampled sub-nets":
        "k 个采样子网络的平均",
    "balanced-accuracy gain (points)":
        "均衡准确率增益(百分点)",
    "best validation accuracy":
        "最佳验证准确率",
    "chance":
        "随机猜测",
    "change of the full loss in one step":
        "完整损失的单步变化",
    "code length = dot products per example":
        "编码长度 = 每个样本的点积次数",
    "conv / pool layer (depth)":
        "卷积 / 池化层(深度)",
    "correct-class logit minus the others":
        "正确类别的 logit 减去其他类别",
    "cross-entropy (with logits)":
        "交叉熵(输入 logits)",
    "cumulative share":
        "累计占比",
    "delay T (distractor tokens)":
        "延迟 T(干扰符号数)",
    "depth":
        "深度",
    "distance T − t (steps back from the loss)":
        "距离 T − t(从损失往回的步数)",
    "dot products per training pair (log)":
        "每个训练词对的点积次数(对数)",
    "dropout rate p":
        "丢弃率 p",
    "epoch":
        "轮次",
    "feature-map width":
        "特征图宽度",
    "fraction of vocabulary types, most frequent first":
        "词型占比,从最高频开始",
    "frequency rank in GloVe #B (Zipf count model)":
        "GloVe #B 中的频率排名(Zipf 计数模型)",
    "full training loss":
        "完整训练损失",
    "hard-label cross-entropy":
        "硬标签交叉熵",
    "hidden layer (# = input side)":
        "隐藏层(# = 输入一侧)",
    "init gain g (std g/sqrt(fan_in))":
        "初始化增益 g(标准差 g/sqrt(fan_in))",
    "k-means purity":
        "k-means 纯度",
    "lag k (steps back from the last)":
        "滞后 k(从最后一步往回的步数)",
    "learning rate":
        "学习率",
    "log(softmax) = -inf (per row avg)":
        "log(softmax) = -inf(每行平均)",
    "logit scale s (float3#)":
        "logit 缩放 s(float3#)",
    "logit z (target #)":
        "logit z(目标 #)",
    "loss":
        "损失",
    "no attention (fixed vector)":
        "无注意力(固定向量)",
    "number of sampled sub-networks k":
        "采样子网络数 k",
    "optimizer steps":
        "优化器步数",
    "output step":
        "输出步",
    "overfitting gap":
        "过拟合差距",
    "per-example gradient evaluations":
        "单样本梯度计算次数",
    "per-token accuracy (greedy decoding)":
        "逐符号准确率(贪心解码)",
    "principal components of GloVe #B #d kept":
        "GloVe #B #d 保留的主成分数",
    "receptive field (input pixels)":
        "感受野(输入像素)",
    "recorded step (subsampled)":
        "记录的步(抽样)",
    "relu + batch norm":
        "relu + 批归一化",
    "rows out of #":
        "行数(共 #)",
    "sequence length (all lengths seen in training)":
        "序列长度(训练中见过所有长度)",
    "softmax (max-shifted): bad rows":
        "softmax(减去最大值):出错的行",
    "source position":
        "源位置",
    "sparsity":
        "稀疏度",
    "squared error on sigmoid(z)":
        "sigmoid(z) 上的平方误差",
    "steps":
        "步数",
    "temperature T":
        "温度 T",
    "test accuracy (%)":
        "测试准确率(%)",
    "test accuracy vs data size (bar = # sd over seeds)":
        "测试准确率随数据量的变化(条 = 各种子的 # 个标准差)",
    "test accuracy":
        "测试准确率",
    "test":
        "测试",
    "textbook exp(z)/Σexp(z): inf/nan rows":
        "教科书公式 exp(z)/Σexp(z):inf/nan 行",
    "the lambda trade-off":
        "lambda 的取舍",
    "total gradient norm (before clipping)":
        "总梯度范数(剪切之前)",
    "train - test accuracy (points)":
        "训练 − 测试准确率(百分点)",
    "train vs test accuracy (bar = min-max over seeds)":
        "训练与测试准确率(条 = 各种子的最小–最大值)",
    "train":
        "训练",
    "training FLOPs":
        "训练 FLOPs",
    "training cross-entropy (nats)":
        "训练交叉熵(奈特)",
    "training examples":
        "训练样本数",
    "unigram distribution":
        "一元分布",
    "validation accuracy":
        "验证准确率",
    "validation check":
        "验证检查",
    "validation loss":
        "验证损失",
    "weight-scaled net":
        "权重缩放的网络",
    "word count in the Lee corpus":
        "Lee 语料中的词频",
    "words (depth, jittered)":
        "词(深度,加抖动)",
    "‖∂L/∂h_t‖ (log scale)":
        "‖∂L/∂h_t‖(对数刻度)",
    "−log2 p (ideal code length)":
        "−log2 p(理想编码长度)",
    "Copying, GRU hidden #; band: min–max over # seeds":
        "复制任务,GRU 隐藏层 #;带:# 个种子的最小–最大值",
    "GloVe #B vocabulary, V = #":
        "GloVe #B 词表,V = #",
    "Lee corpus, V = #: rare words sit deeper":
        "Lee 语料,V = #:罕见词位置更深",
    "Lee corpus: the rarest half of the types takes #% of the walk":
        "Lee 语料:最罕见的一半词型占了 #% 的路径",
    "Output-layer work per pair (V = #)":
        "每个词对的输出层计算量(V = #)",
    "average code length #":
        "平均编码长度 #",
    "balanced tree #":
        "平衡树 #",
    "distilled (alpha #, T²)":
        "蒸馏(alpha #,乘 T²)",
    "dropout as model averaging (p = #, n_train = #)":
        "dropout 作为模型平均(p = #,n_train = #)",
    "fraction of |w| < #":
        "|w| < # 的比例",
    "learning curves and early-stopping optima, n_train = #":
        "学习曲线与早停最优点,n_train = #",
    "length #":
        "长度 #",
    "measured, seed #":
        "实测,随机种子 #",
    "rate sweep, n_train = #":
        "丢弃率扫描,n_train = #",
    "seed #":
        "随机种子 #",
    "GD lr #":
        "GD 学习率 #",
    "SGD lr #":
        "SGD 学习率 #",
    "soft term × T² (Hinton et al.)":
        "软项 × T²(Hinton 等)",
    "soft term, no T² (the page's sum)":
        "软项,不乘 T²(页面的加和)",
    "n/a":
        "不适用",
    "yes":
        "是",
    "no":
        "否",
    "one point per fold":
        "每折一个点",
    "Relatedness, one point per fold":
        "相关性,每折一个点",
    "Healthy after applying the fix inside the fake tree":
        "在假环境中应用修复后是否健康",
    "Import failures: what runs, what the doctor finds, which fix works":
        "导入失败:哪些能运行、doctor 的发现、哪个修复有效",
    "L2 (chosen: L2=#)":
        "L2(选出:L2=#)",
    "PCA, gold categories":
        "PCA,真实类别",
    "Recall the first token after T steps":
        "在 T 步之后回忆第一个符号",
    "SimLex-# ρ, one point per fold":
        "SimLex-# ρ,每折一个点",
    "Trained LSTM, T = #: changed from mid-delay on":
        "训练好的 LSTM,T = #:从延迟中段起改变",
    "WordSim3# ρ, one point per fold":
        "WordSim3# ρ,每折一个点",
    "a printed\nfix works":
        "打印的修复\n有效",
    "activations and their derivatives":
        "激活函数及其导数",
    "adverb":
        "副词",
    "at the chosen rate; dotted: target":
        "在选出的学习率下;虚线:目标",
    "attention":
        "注意力",
    "attenuation against depth (band: within #x)":
        "衰减随深度的变化(带:#x 以内)",
    "base":
        "基线",
    "before every step, B=#, seed #":
        "每一步之前,B=#,随机种子 #",
    "capital":
        "首都",
    "clip":
        "剪切",
    "control: balanced vs cut":
        "对照:均衡与截断",
    "country":
        "国家",
    "currency":
        "货币",
    "delayed recall, delay #, seed #":
        "延迟回忆,延迟 #,随机种子 #",
    "depth #, default init, seed=#":
        "深度 #,默认初始化,seed=#",
    "detected":
        "检出",
    "doctor fix":
        "doctor 修复",
    "doctor fix\nlasts":
        "doctor 修复\n持久",
    "f: forget":
        "f:遗忘门",
    "family":
        "家庭称谓",
    "full\nsoftmax":
        "完整\nsoftmax",
    "g: candidate":
        "g:候选值",
    "gradient noise (grey: σ²/B·(N−B)/(N−#))":
        "梯度噪声(灰色:σ²/B·(N−B)/(N−#))",
    "gradient reaching a sigmoid output's logit":
        "传到 sigmoid 输出 logit 的梯度",
    "gradient through time at initialization (mean over seeds)":
        "初始化时沿时间传播的梯度(种子均值)",
    "h := # in gates":
        "门中 h := #",
    "h_t (next step)":
        "h_t(下一步)",
    "h_t (output)":
        "h_t(输出)",
    "healthy":
        "健康",
    "hierarchical\nsoftmax":
        "层次\nsoftmax",
    "i: input":
        "i:输入门",
    "init scale (lr #)":
        "初始化尺度(学习率 #)",
    "learning rate (ReLU, depth #); dotted: control":
        "学习率(ReLU,深度 #);虚线:对照",
    "location\nright":
        "位置\n正确",
    "mini-batch step direction vs full gradient":
        "小批量步的方向与全量梯度",
    "nationality":
        "国籍",
    "negative\nsampling (k=#)":
        "负采样\n(k=#)",
    "none":
        "无",
    "o: output":
        "o:输出门",
    "one real step, unit #:  f = #  i = #  g = #  o = #  c_t = #  c_{t−#} = #":
        "一个真实步骤,单元 #:  f = #  i = #  g = #  o = #  c_t = #  c_{t−#} = #",
    "p chosen on validation":
        "在验证集上选出的 p",
    "page cmds":
        "页面命令",
    "page cmds\nlast":
        "页面命令\n持久",
    "plain":
        "普通",
    "random":
        "随机",
    "script runs\nas is":
        "脚本照原样\n能运行",
    "sigmoid and depth":
        "sigmoid 与深度",
    "sigmoid d6":
        "sigmoid 深度 6",
    "single steps: mostly down, some up":
        "单步:大多下降,有些上升",
    "sys.path\n.append works":
        "sys.path\n.append 有效",
    "t-SNE, gold categories":
        "t-SNE,真实类别",
    "t-SNE, k-means clusters found in #-d":
        "t-SNE,在 #-d 中找到的 k-means 聚类",
    "to the target (dotted), seed #":
        "到达目标(虚线),随机种子 #",
    "unchanged":
        "不变",
    "width":
        "宽度",
}


#: English lead-ins of cells whose rest is a command or a path (kept as it is).
PREFIXES = {"needs the network: ": "需要联网:"}
_NUM = re.compile(r"(?<![A-Za-z_])[-+−]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")
MISSING: set[str] = set()


def template(text: str) -> tuple[str, list[str]]:
    """``text`` with each number replaced by ``#``, and the numbers in order."""
    nums: list[str] = []

    def sub(m: re.Match[str]) -> str:
        nums.append(m.group(0))
        return "#"

    return _NUM.sub(sub, text), nums


def zh(text: str) -> str:
    """The Chinese of an English evidence string (itself when there is none, and then noted in MISSING)."""
    if not text or not re.search(r"[A-Za-z]{2}", text) or text.startswith("$"):  # "$...$": matplotlib maths
        return text
    if text in ZH:
        return ZH[text]
    tpl, nums = template(text)
    target = ZH.get(tpl)
    if target is not None and target.count("#") == len(nums):
        it = iter(nums)
        return re.sub("#", lambda _m: next(it), target)
    for en, zh_prefix in PREFIXES.items():
        if text.startswith(en):
            return zh_prefix + text[len(en):]
    MISSING.add(text)
    return text
